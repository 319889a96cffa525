import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type PtyBoard, usePipelineBench } from "../pipeline/fixtures.js";
import { runCli, uploadedDeviceIds } from "../pipeline/station-child.js";
import { lineStatus, migratedDatabase, sql, stationArgs, stationCa } from "./line-helpers.js";
import { freePort, usePgCluster } from "./pg-cluster.js";
import { TcpProxy } from "./tcp-proxy.js";

const cluster = usePgCluster();

/** Every board done, one certificate each in the store, each uploaded once. */
async function expectAllDone(url: string, boards: PtyBoard[], uploads: string[]): Promise<void> {
  for (const board of boards) {
    const deviceId = `nrf-${board.modem.imei}`;
    const rows = await sql(url, "SELECT 1 FROM certificates WHERE device_id = $1", [deviceId]);
    expect(rows, deviceId).toHaveLength(1);
    expect(
      uploads.filter((id) => id === deviceId),
      deviceId,
    ).toHaveLength(1);
  }
  const status = await lineStatus(url);
  expect(status.line).toMatchObject({ done: boards.length, failed: 0, inProgress: 0 });
}

describe("a revoked station", () => {
  const bench = usePipelineBench({ cloud: false });

  it("is refused at start, and a revocation while it runs fails its later boards", async () => {
    const url = await migratedDatabase(cluster());
    // KEYGEN is slow enough that the revocation lands before these boards get to the CA.
    const boards = await bench.startBoards(3, { keygenMs: 6_000 });
    const caDir = await stationCa(bench.dir, "revoked");
    const args = (ports: string[]) =>
      stationArgs({
        ports,
        caDir,
        journal: join(bench.dir, "revoked.jsonl"),
        url,
        stationId: "V",
        onboard: "none",
      });
    const first = await runCli(args([boards[0]!.path]), bench.env);
    expect(first.exitCode, first.stderr).toBe(0);
    let revoked: Promise<unknown> | undefined;
    const second = await runCli(args(boards.slice(1).map((b) => b.path)), bench.env, {
      onEvent: (event) => {
        if (event.type === "board-found" && revoked === undefined) {
          revoked = runCli(["ca", "revoke-station", "V", "--store", url], {});
        }
      },
    });
    await revoked;
    expect(second.exitCode).toBe(6);
    const failures = second.events.filter((event) => event.type === "board-failed");
    expect(failures.map((event) => event.code)).toEqual([
      "ERR_STORE_STATION_REVOKED",
      "ERR_STORE_STATION_REVOKED",
    ]);
    const rows = await sql(url, "SELECT device_id FROM certificates WHERE station_id = 'V'");
    expect(rows).toHaveLength(1);
    const third = await runCli(args([boards[1]!.path]), bench.env);
    expect(third.exitCode).toBe(7);
    expect(third.stderr).toContain("ERR_STORE_STATION_REVOKED");
  }, 180_000);
});

describe("the same station ID twice", () => {
  const bench = usePipelineBench({ cloud: false });

  it("a second station process with a running station's ID is refused", async () => {
    const url = await migratedDatabase(cluster());
    // The first station is still at its board's KEYGEN when the second one starts.
    const boards = await bench.startBoards(2, { keygenMs: 10_000 });
    const caDir = await stationCa(bench.dir, "twice");
    const args = (port: string, journal: string) =>
      stationArgs({
        ports: [port],
        caDir,
        journal: join(bench.dir, journal),
        url,
        stationId: "T",
        onboard: "none",
        claimTimeoutS: 30,
      });
    let second: ReturnType<typeof runCli> | undefined;
    const first = await runCli(args(boards[0]!.path, "t1.jsonl"), bench.env, {
      onEvent: (event) => {
        if (event.type === "board-found")
          second ??= runCli(args(boards[1]!.path, "t2.jsonl"), bench.env);
      },
    });
    const refused = await second!;
    expect(first.exitCode, first.stderr).toBe(0);
    expect(refused.exitCode).toBe(7);
    expect(refused.stderr).toContain("ERR_STORE_STATION_RUNNING");
  }, 120_000);
});

describe("the line's database fails during a station run", () => {
  const bench = usePipelineBench({ cloud: { bulkDelayMs: 100 } });

  it("PostgreSQL restarts mid-run: the station waits, retries, and loses nothing", async () => {
    const url = await migratedDatabase(cluster());
    const boards = await bench.startBoards(6, { keygenMs: 800 });
    const caDir = await stationCa(bench.dir, "restart");
    let restarted: Promise<void> | undefined;
    const run = await runCli(
      stationArgs({
        ports: boards.map((b) => b.path),
        caDir,
        journal: join(bench.dir, "restart.jsonl"),
        url,
        stationId: "R",
        claimTimeoutS: 3,
      }),
      bench.env,
      {
        onEvent: (event) => {
          if (event.type === "board-found" && restarted === undefined) {
            restarted = cluster().restart({ downMs: 3_000 });
          }
        },
      },
    );
    await restarted;
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain("the line's database is unreachable");
    expect(run.stderr).toContain("answers again");
    await expectAllDone(url, boards, uploadedDeviceIds(bench.cloud));
  }, 180_000);

  it("the network to the database drops for 10 s: the station pauses and finishes", async () => {
    const url = await migratedDatabase(cluster());
    const proxy = await TcpProxy.start(await freePort(), cluster().port);
    const proxied = url.replace(`:${cluster().port}/`, `:${proxy.port}/`);
    const boards = await bench.startBoards(6, { keygenMs: 1_500 });
    const caDir = await stationCa(bench.dir, "network");
    let outage: Promise<void> | undefined;
    const run = await runCli(
      stationArgs({
        ports: boards.map((b) => b.path),
        caDir,
        journal: join(bench.dir, "network.jsonl"),
        url: proxied,
        stationId: "N",
        claimTimeoutS: 30,
      }),
      bench.env,
      {
        onEvent: (event) => {
          if (event.type === "board-found" && outage === undefined) {
            outage = proxy
              .drop()
              .then(() => new Promise((resolve) => setTimeout(resolve, 10_000)))
              .then(() => proxy.restore());
          }
        },
      },
    );
    await outage;
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain("the line's database is unreachable");
    const uploads = uploadedDeviceIds(bench.cloud);
    await expectAllDone(url, boards, uploads);
  }, 180_000);
});
