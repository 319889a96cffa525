import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SimCloud } from "../../src/sim/cloud/index.js";
import { type PtyBoard, usePipelineBench } from "../pipeline/fixtures.js";
import { runCli, uploadedDeviceIds } from "../pipeline/station-child.js";
import {
  eventually,
  fingerprintOf,
  lineStatus,
  migratedDatabase,
  sql,
  stationArgs,
  stationCa,
} from "./line-helpers.js";
import { type PgCluster, startPgCluster } from "./pg-cluster.js";

let cluster: PgCluster;
beforeAll(async () => {
  cluster = await startPgCluster();
}, 120_000);
afterAll(async () => {
  await cluster?.destroy();
});

describe("two stations sharing one PostgreSQL, one SIGKILLed and its boards moved", () => {
  const bench = usePipelineBench({ cloud: { bulkDelayMs: 100 } });

  it("provisions 32 boards: one certificate each, on its modem, on nRF Cloud, uploaded once", async () => {
    const url = await migratedDatabase(cluster);
    const boards = await bench.startBoards(32, { keygenMs: 400 });
    const ports = boards.map((board) => board.path);
    const caA = await stationCa(bench.dir, "A");
    const caB = await stationCa(bench.dir, "B");
    const argsA = stationArgs({
      ports: ports.slice(0, 16),
      caDir: caA,
      journal: join(bench.dir, "A.jsonl"),
      url,
      stationId: "A",
    });
    const argsB = (journal: string, slice: string[]) =>
      stationArgs({
        ports: slice,
        caDir: caB,
        journal: join(bench.dir, journal),
        url,
        stationId: "B",
      });

    let done = 0;
    const [runA, runB] = await Promise.all([
      runCli(argsA, bench.env, {
        onEvent: (event, child) => {
          if (event.type === "board-done" && ++done === 5) child.kill("SIGKILL");
        },
      }),
      runCli(argsB("B.jsonl", ports.slice(16)), bench.env),
    ]);
    expect(runA.signal).toBe("SIGKILL");
    expect(runB.exitCode, runB.stderr).toBe(0);

    // A's heartbeat expires; then its boards are plugged into station B.
    await eventually(
      async () => !(await lineStatus(url)).stations.find((s) => s.id === "A")?.alive,
      "station A seen as not alive",
    );
    const moved = await runCli(argsB("B.jsonl", ports.slice(0, 16)), bench.env);
    expect(moved.exitCode, moved.stderr).toBe(0);

    await expectOneCertificateEverywhere(url, boards, bench.cloud);

    const status = await lineStatus(url);
    expect(status.line).toMatchObject({ done: 32, failed: 0, inProgress: 0 });
    expect(status.boards).toHaveLength(32);
    expect(status.stations.map((s) => s.id)).toEqual(["A", "B"]);
    expect(status.stations.every((s) => !s.alive)).toBe(true);

    const rows = await expectExportMatchesStore(url);
    // The boards A finished before it was killed keep A's certificates.
    expect(rows.filter((row) => row.issuingStation === "A").length).toBeGreaterThanOrEqual(5);
  }, 300_000);
});

/** Each board: one certificate in the store, the same on its modem and on nRF Cloud, uploaded once. */
async function expectOneCertificateEverywhere(
  url: string,
  boards: PtyBoard[],
  cloud: SimCloud,
): Promise<void> {
  const uploads = uploadedDeviceIds(cloud);
  for (const board of boards) {
    const deviceId = `nrf-${board.modem.imei}`;
    const certificates = await sql<{ pem: string; issuer_certificate: string }>(
      url,
      `SELECT c.pem, s.issuer_certificate FROM certificates c JOIN stations s ON s.id = c.station_id
       WHERE c.device_id = $1`,
      [deviceId],
    );
    expect(certificates, deviceId).toHaveLength(1);
    // It chains to the CA of the station the store says issued it.
    const certificate = new X509Certificate(certificates[0]!.pem);
    const issuer = new X509Certificate(certificates[0]!.issuer_certificate);
    expect(certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey), deviceId).toBe(
      true,
    );
    const onModem = board.modem.credentials().find((c) => c.type === 1)?.content;
    expect(onModem && fingerprintOf(onModem), deviceId).toBe(fingerprintOf(certificates[0]!.pem));
    const inCloud = cloud.devices.get(deviceId);
    expect(inCloud?.certificateFingerprint?.replaceAll(":", "").toLowerCase(), deviceId).toBe(
      fingerprintOf(certificates[0]!.pem),
    );
    expect(
      uploads.filter((id) => id === deviceId),
      deviceId,
    ).toHaveLength(1);
  }
}

/** `line export --jsonl`: one row per device, with the store's certificate and issuing station. */
async function expectExportMatchesStore(url: string): Promise<Array<Record<string, unknown>>> {
  const exported = await runCli(["line", "export", "--store", url, "--jsonl"], {});
  expect(exported.exitCode, exported.stderr).toBe(0);
  const rows = exported.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  expect(rows).toHaveLength(32);
  for (const row of rows) {
    const [certificate] = await sql<{
      serial_number: string;
      sha256_fingerprint: string;
      station_id: string;
    }>(
      url,
      "SELECT serial_number, sha256_fingerprint, station_id FROM certificates WHERE device_id = $1",
      [row.deviceId],
    );
    expect(row).toMatchObject({
      serialNumber: certificate!.serial_number,
      sha256Fingerprint: certificate!.sha256_fingerprint,
      issuingStation: certificate!.station_id,
      onboarding: "succeeded",
      state: "done",
    });
  }
  return rows;
}
