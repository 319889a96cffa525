import { afterAll, describe, expect, it } from "vitest";
import type { QueuedRow, TakenJob } from "../../src/pipeline/line-uploads.js";
import { Database } from "../../src/store/index.js";
import { migrate, shippedMigrations } from "../../src/store/postgres/migrate.js";
import { lineTiming, registerStation, stopStation } from "../../src/store/postgres/stations.js";
import { PgUploadQueue } from "../../src/store/postgres/uploads.js";
import { runCli } from "../pipeline/station-child.js";
import { usePgCluster } from "./pg-cluster.js";
import { testStation } from "./stations.js";

const cluster = usePgCluster();
const open: Database[] = [];
// Hooks run as a stack: the pools close before the cluster stops.
afterAll(async () => {
  await Promise.all(open.map((db) => db.close()));
});

/** A migrated database and `connections` separate pools on it (one per station). */
async function freshDb(connections = 1): Promise<{ url: string; dbs: Database[] }> {
  const url = cluster().url(await cluster().createDatabase());
  const dbs = Array.from({ length: connections }, () => new Database(url, { retryForMs: 5_000 }));
  open.push(...dbs);
  await migrate(dbs[0]!);
  return { url, dbs };
}

async function queueFor(db: Database, id: string, pid?: number): Promise<PgUploadQueue> {
  const timing = lineTiming(30_000);
  await registerStation(db, testStation(id, pid), timing);
  return new PgUploadQueue(db, id, timing);
}

function row(deviceId: string, fingerprint = `fp-${deviceId}`): QueuedRow {
  return { row: { deviceId, certificate: `(pem of ${deviceId})` }, fingerprint };
}

const deviceIdsOf = (job: TakenJob | undefined) => job?.rows.map((q) => q.row.deviceId) ?? [];

describe("migration 002 (uploads)", () => {
  it("a line database at 001 gets 002 from line db migrate, once", async () => {
    const url = cluster().url(await cluster().createDatabase());
    const db = new Database(url, { retryForMs: 5_000 });
    open.push(db);
    const [init] = await shippedMigrations();
    await db.query(init!.sql);
    await db.query(
      "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    await db.query("INSERT INTO schema_migrations (version, name) VALUES (1, '001_init.sql')");

    const check = await runCli(["line", "db", "check", "--store", url, "--json"], {});
    expect(check.exitCode).toBe(7);
    expect(JSON.parse(check.stdout)).toMatchObject({ applied: [1], pending: ["002_uploads.sql"] });
    const first = await runCli(["line", "db", "migrate", "--store", url], {});
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toContain("applied 002_uploads.sql");
    expect(first.stdout).not.toContain("001_init.sql");
    const again = await runCli(["line", "db", "migrate", "--store", url], {});
    expect(again.stdout).toContain("nothing to apply");
    const tables = await db.query<{ name: string }>(
      "SELECT to_regclass('uploads')::text AS name UNION ALL SELECT to_regclass('upload_rows')::text",
    );
    expect(tables.map((t) => t.name)).toEqual(["uploads", "upload_rows"]);
  }, 60_000);
});

describe("the line's upload queue", () => {
  it("a device and certificate is enqueued once line-wide; a failed row is pending again", async () => {
    const { dbs } = await freshDb();
    const a = await queueFor(dbs[0]!, "A");
    const b = await queueFor(dbs[0]!, "B");
    expect(await a.enqueue(row("nrf-1"))).toEqual({ linePending: 1 });
    expect(await b.enqueue(row("nrf-1"))).toEqual({ linePending: 1 });
    expect(await b.enqueue(row("nrf-2"))).toEqual({ linePending: 2 });
    // Another certificate for the same device is another row.
    expect(await b.enqueue(row("nrf-1", "fp-new"))).toEqual({ linePending: 3 });

    const job = await a.take(10);
    expect(deviceIdsOf(job)).toEqual(["nrf-1", "nrf-2", "nrf-1"]);
    expect(await a.enqueue(row("nrf-2"))).toEqual({ linePending: 0 }); // in a job: left alone
    await a.finished(job!.jobId, [
      { deviceId: "nrf-1", fingerprint: "fp-nrf-1" },
      { deviceId: "nrf-2", fingerprint: "fp-nrf-2", error: "refused" },
      { deviceId: "nrf-1", fingerprint: "fp-new" },
    ]);
    expect(await a.outcomes([row("nrf-1"), row("nrf-2")].map(keyOf))).toEqual([
      { deviceId: "nrf-1", fingerprint: "fp-nrf-1", state: "onboarded" },
      { deviceId: "nrf-2", fingerprint: "fp-nrf-2", state: "failed", error: "refused" },
    ]);
    expect(await a.enqueue(row("nrf-1"))).toEqual({ linePending: 0 }); // onboarded: done
    expect(await b.enqueue(row("nrf-2"))).toEqual({ linePending: 1 }); // failed: again
    const [{ count }] = (await dbs[0]!.query<{ count: string }>(
      "SELECT count(*) FROM upload_rows",
    )) as [{ count: string }];
    expect(Number(count)).toBe(3);
  });

  it("two stations taking at once (two connections) never take the same row, and one job carries both stations' rows", async () => {
    const { dbs } = await freshDb(2);
    const a = await queueFor(dbs[0]!, "A");
    const b = await queueFor(dbs[1]!, "B");
    const all: string[] = [];
    for (let i = 0; i < 40; i++) {
      const deviceId = `nrf-${String(i).padStart(2, "0")}`;
      all.push(deviceId);
      await (i % 2 === 0 ? a : b).enqueue(row(deviceId));
    }

    // While A's transaction holds rows it is taking, B takes others at once (SKIP LOCKED).
    const heldByA = await dbs[0]!.transaction(async (tx) => {
      const locked = await tx.query<{ device_id: string }>(
        "SELECT device_id FROM upload_rows WHERE state = 'pending' ORDER BY id LIMIT 5 FOR UPDATE",
      );
      const taken = await b.take(5);
      expect(deviceIdsOf(taken)).toEqual(all.slice(5, 10));
      return locked.map((r) => r.device_id);
    });
    expect(heldByA).toEqual(all.slice(0, 5));

    // Many flushes racing on both connections.
    const jobs: TakenJob[] = [];
    const drain = async (queue: PgUploadQueue) => {
      for (;;) {
        const job = await queue.take(3);
        if (job === undefined) return;
        jobs.push(job);
      }
    };
    await Promise.all([drain(a), drain(b), drain(a), drain(b)]);
    const taken = [...all.slice(5, 10), ...jobs.flatMap(deviceIdsOf)];
    expect(taken.sort()).toEqual(all);
    expect(new Set(taken).size).toBe(40);

    // The store agrees: every row in exactly one job; jobs mix the stations that enqueued them.
    const perJob = await dbs[0]!.query<{ stations: string[]; rows: string }>(
      `SELECT array_agg(DISTINCT r.enqueued_by ORDER BY r.enqueued_by) AS stations, count(*) AS rows
       FROM upload_rows r JOIN uploads u ON u.id = r.upload_id GROUP BY u.id`,
    );
    expect(perJob.reduce((sum, job) => sum + Number(job.rows), 0)).toBe(40);
    expect(perJob.some((job) => job.stations.join() === "A,B")).toBe(true);
    const notSending = await dbs[0]!.query("SELECT 1 FROM upload_rows WHERE state <> 'sending'");
    expect(notSending).toEqual([]);
  });

  it("a dead station's job is reconciled: without a bulk ID its rows are pending again, with one it is handed over", async () => {
    const { dbs } = await freshDb();
    const db = dbs[0]!;
    const dead = await queueFor(db, "D", 2 ** 22 + 11); // no such process
    const live = await queueFor(db, "L");
    const finder = await queueFor(db, "F");
    for (const id of ["nrf-a", "nrf-b", "nrf-c", "nrf-d", "nrf-e", "nrf-f"]) {
      await dead.enqueue(row(id));
    }
    const unsent = await dead.take(2);
    const sent = await dead.take(2);
    await dead.submitted(sent!.jobId, "01BX5ZZKBKACTAV9WEVGEMMVRZ");
    const livesJob = await live.take(2);

    // D is alive still: nothing to reconcile.
    expect(await finder.takeOverOrphans()).toEqual([]);
    await db.query("UPDATE stations SET heartbeat = now() - interval '5 minutes' WHERE id = 'D'");

    const [handedOver, ...more] = await finder.takeOverOrphans();
    expect(more).toEqual([]);
    expect(handedOver).toMatchObject({
      jobId: sent!.jobId,
      bulkOpsRequestId: "01BX5ZZKBKACTAV9WEVGEMMVRZ",
    });
    expect(deviceIdsOf(handedOver)).toEqual(deviceIdsOf(sent));
    const jobs = await db.query<{ id: string; station_id: string; state: string }>(
      "SELECT id, station_id, state FROM uploads",
    );
    const stateOf = (jobId: string) => jobs.find((job) => job.id === jobId);
    expect(stateOf(unsent!.jobId)).toMatchObject({ station_id: "D", state: "released" });
    expect(stateOf(sent!.jobId)).toMatchObject({ station_id: "F", state: "submitted" });
    expect(stateOf(livesJob!.jobId)).toMatchObject({ station_id: "L", state: "taken" });
    // The released rows go out in the next job; nothing is taken over twice.
    expect(deviceIdsOf(await finder.take(10))).toEqual(deviceIdsOf(unsent));
    expect(await finder.takeOverOrphans()).toEqual([]);

    // A stopped station's open job is reconciled at once.
    await stopStation(db, "L");
    expect(await finder.takeOverOrphans()).toEqual([]);
    const [released] = await db.query<{ state: string }>(
      "SELECT state FROM uploads WHERE id = $1",
      [livesJob!.jobId],
    );
    expect(released!.state).toBe("released");
  });

  it("line export shows where each device's row stands in the queue", async () => {
    const { url, dbs } = await freshDb();
    const db = dbs[0]!;
    const a = await queueFor(db, "A");
    for (const deviceId of ["nrf-q1", "nrf-q2", "nrf-q3"]) {
      await db.query(
        `INSERT INTO devices (device_id, station_id, expected_fingerprint, step)
         VALUES ($1, 'A', $2, 'provisioned')`,
        [deviceId, `fp-${deviceId}`],
      );
    }
    await a.enqueue(row("nrf-q1"));
    await a.enqueue(row("nrf-q2"));
    expect(deviceIdsOf(await a.take(1))).toEqual(["nrf-q1"]);
    const exported = await runCli(["line", "export", "--store", url, "--jsonl"], {});
    expect(exported.exitCode, exported.stderr).toBe(0);
    const onboarding = Object.fromEntries(
      exported.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { deviceId: string; onboarding: string })
        .map((device) => [device.deviceId, device.onboarding]),
    );
    expect(onboarding).toEqual({
      "nrf-q1": "in-flight",
      "nrf-q2": "queued",
      "nrf-q3": "not-started",
    });
  }, 60_000);

  it("a station's own job from its earlier run is reconciled by its next run", async () => {
    const { dbs } = await freshDb();
    const db = dbs[0]!;
    const first = await queueFor(db, "S");
    await first.enqueue(row("nrf-s"));
    const left = await first.take(1);
    await first.submitted(left!.jobId, "01BX5ZZKBKACTAV9WEVGEMMVS0");
    await db.query("UPDATE uploads SET taken_at = now() - interval '1 minute'");
    const again = await queueFor(db, "S"); // registered anew: its start is after the job
    const [job] = await again.takeOverOrphans();
    expect(job?.jobId).toBe(left!.jobId);
    // Taken over now: the same run does not take it over a second time.
    expect(await again.takeOverOrphans()).toEqual([]);
  });
});

function keyOf(queued: QueuedRow): { deviceId: string; fingerprint: string } {
  return { deviceId: queued.row.deviceId, fingerprint: queued.fingerprint };
}
