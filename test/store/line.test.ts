import { X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import type { SimCloud } from "../../src/sim/cloud/index.js";
import { type PtyBoard, passphrase, usePipelineBench } from "../pipeline/fixtures.js";
import { runCli, uploadedDeviceIds } from "../pipeline/station-child.js";
import {
  type Browser,
  type DashboardChild,
  launchChromium,
  startDashboardChild,
} from "./dashboard-child.js";
import {
  delegatedLineCas,
  eventually,
  fingerprintOf,
  lineStatus,
  migratedDatabase,
  opensslVerify,
  sql,
  stationArgs,
} from "./line-helpers.js";
import { usePgCluster } from "./pg-cluster.js";

const cluster = usePgCluster();

describe("two stations sharing one PostgreSQL, one SIGKILLed and its boards moved", () => {
  const bench = usePipelineBench({ cloud: { bulkDelayMs: 100 } });
  let dashboard: DashboardChild | undefined;
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
    await dashboard?.stop();
  });

  it("provisions 32 boards under one root: one certificate each, on its modem, on nRF Cloud, uploaded once, watched on the dashboard", async () => {
    const url = await migratedDatabase(cluster());
    const boards = await bench.startBoards(32, { keygenMs: 400 });
    const ports = boards.map((board) => board.path);
    // One root, an intermediate per station, as the README makes them.
    const cas = await delegatedLineCas(bench.dir, ["S1", "S2"], passphrase);
    const argsS1 = stationArgs({
      ports: ports.slice(0, 16),
      caDir: cas.stationDirs.get("S1")!,
      journal: join(bench.dir, "S1.jsonl"),
      url,
      stationId: "S1",
    });
    const argsS2 = (journal: string, slice: string[]) =>
      stationArgs({
        ports: slice,
        caDir: cas.stationDirs.get("S2")!,
        journal: join(bench.dir, journal),
        url,
        stationId: "S2",
      });

    // The dashboard, a child of the built CLI, open in chromium before the stations start.
    dashboard = await startDashboardChild(url, ["--poll-ms", "250"]);
    browser = await launchChromium();
    const { page } = browser;
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(dashboard.url);
    await expect.poll(() => page.locator("#connection").textContent()).toBe("live");
    // Seen while the stations run: both stations' cards, and boards in progress.
    const bothStationsShown = seenOnPage(page, () =>
      ["S1", "S2"].every((id) => document.querySelector(`[data-station="${id}"]`) !== null),
    );
    const boardsInProgressShown = seenOnPage(
      page,
      () => document.querySelectorAll('[data-station] tr[data-state="in-progress"]').length > 0,
    );
    // S1's boards are listed under S1 (until they are moved to S2).
    const s1BoardsShown = seenOnPage(
      page,
      () => document.querySelectorAll('[data-station="S1"] tr[data-device]').length > 0,
    );

    let done = 0;
    const [runS1, runS2] = await Promise.all([
      runCli(argsS1, bench.env, {
        onEvent: (event, child) => {
          if (event.type === "board-done" && ++done === 5) child.kill("SIGKILL");
        },
      }),
      runCli(argsS2("S2.jsonl", ports.slice(16)), bench.env),
    ]);
    expect(runS1.signal).toBe("SIGKILL");
    expect(runS2.exitCode, runS2.stderr).toBe(0);

    // S1's heartbeat expires; then its boards are plugged into station S2.
    await eventually(
      async () => !(await lineStatus(url)).stations.find((s) => s.id === "S1")?.alive,
      "station S1 seen as not alive",
    );
    expect(await bothStationsShown).toBe(true);
    expect(await boardsInProgressShown).toBe(true);
    expect(await s1BoardsShown).toBe(true);
    await page
      .locator('[data-station="S1"] [data-role="alive"]', { hasText: "no heartbeat" })
      .waitFor({ timeout: PAGE_TIMEOUT_MS });
    const moved = await runCli(argsS2("S2.jsonl", ports.slice(0, 16)), bench.env);
    expect(moved.exitCode, moved.stderr).toBe(0);

    await expectOneCertificateEverywhere(url, boards, bench.cloud);
    await expectOpensslChains(url, cas.rootDir, cas.stationDirs, bench.dir);

    const status = await lineStatus(url);
    expect(status.line).toMatchObject({ done: 32, failed: 0, inProgress: 0 });
    expect(status.boards).toHaveLength(32);
    expect(status.stations.map((s) => s.id)).toEqual(["S1", "S2"]);
    expect(status.stations.every((s) => !s.alive)).toBe(true);
    // Each station's intermediate is the one the store knows it by.
    for (const station of status.stations) {
      const pem = await readFile(join(cas.stationDirs.get(station.id)!, "ca.pem"), "utf8");
      expect(station.intermediateSerial?.toLowerCase(), station.id).toBe(
        new X509Certificate(pem).serialNumber.toLowerCase(),
      );
    }

    const rows = await expectExportMatchesStore(url);
    // The boards S1 finished before it was killed keep S1's certificates.
    const issuedBy = (station: string) =>
      rows.filter((row) => row.issuingStation === station).length;
    expect(issuedBy("S1")).toBeGreaterThanOrEqual(5);
    expect(issuedBy("S1") + issuedBy("S2")).toBe(32);
    // A finished board is listed under the station that issued its certificate (S1 for those S1
    // finished before it was killed), not the last station that held it.
    for (const board of status.boards) {
      const row = rows.find((exported) => exported.deviceId === board.deviceId);
      expect(board.station, board.deviceId).toBe(row?.issuingStation);
    }
    for (const station of status.stations) {
      expect(station.done, station.id).toBe(issuedBy(station.id));
    }

    // The page: all 32 boards done, each under the station the store lists it with (its issuer).
    await page.waitForFunction(
      () =>
        document.getElementById("line-done")?.textContent === "32" &&
        document.querySelectorAll('[data-station] tr[data-state="done"]').length === 32,
      undefined,
      { timeout: PAGE_TIMEOUT_MS },
    );
    expect(await page.locator("#line-in-progress").textContent()).toBe("0");
    expect(await page.locator("#line-failed").textContent()).toBe("0");
    let doneOnPage = 0;
    for (const station of ["S1", "S2"]) {
      const card = page.locator(`[data-station="${station}"]`);
      const doneHere = await card.locator('tr[data-state="done"]').count();
      const boardsHere = status.boards.filter((board) => board.station === station).length;
      expect(doneHere, station).toBe(boardsHere);
      expect(await card.locator('[data-role="stats"]').textContent()).toContain(
        `0 in progress · ${boardsHere} done`,
      );
      doneOnPage += doneHere;
    }
    expect(doneOnPage).toBe(32);
    expect(pageErrors).toEqual([]);

    await mkdir(screenshotDir, { recursive: true });
    const screenshot = join(screenshotDir, "line-dashboard-real.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`line dashboard (real store) screenshot: ${screenshot}`);
    expect(existsSync(screenshot)).toBe(true);

    // Ctrl-C stops the dashboard cleanly.
    expect(await dashboard.stop(), dashboard.output()).toBe(0);
  }, 300_000);
});

/** Upper bound for the page to catch up with the store; it normally takes a poll or two. */
const PAGE_TIMEOUT_MS = 120_000;
const screenshotDir = fileURLToPath(new URL("../../test-output/", import.meta.url));

/** Whether `check` held on the page at some point (within the page timeout), without throwing. */
function seenOnPage(page: Page, check: () => boolean): Promise<boolean> {
  return page.waitForFunction(check, undefined, { timeout: PAGE_TIMEOUT_MS, polling: 50 }).then(
    () => true,
    () => false,
  );
}

/**
 * Every device certificate verifies with `openssl verify` against the root and the intermediate of
 * the station the store says issued it, and not with the other station's intermediate.
 */
async function expectOpensslChains(
  url: string,
  rootDir: string,
  stationDirs: Map<string, string>,
  dir: string,
): Promise<void> {
  const certificates = await sql<{ device_id: string; pem: string; station_id: string }>(
    url,
    "SELECT device_id, pem, station_id FROM certificates ORDER BY device_id",
  );
  expect(certificates).toHaveLength(32);
  const rootPem = join(rootDir, "ca.pem");
  for (const certificate of certificates) {
    const devicePem = join(dir, `${certificate.device_id}.pem`);
    await writeFile(devicePem, certificate.pem);
    const own = join(stationDirs.get(certificate.station_id)!, "ca.pem");
    const mine = await opensslVerify(rootPem, own, devicePem);
    expect(mine.ok, `${certificate.device_id} (${certificate.station_id}): ${mine.output}`).toBe(
      true,
    );
    expect(mine.output).toContain(": OK");
    const otherStation = certificate.station_id === "S1" ? "S2" : "S1";
    const other = join(stationDirs.get(otherStation)!, "ca.pem");
    const theirs = await opensslVerify(rootPem, other, devicePem);
    expect(theirs.ok, `${certificate.device_id} against ${otherStation}: ${theirs.output}`).toBe(
      false,
    );
  }
}

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
