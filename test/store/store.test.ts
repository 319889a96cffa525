import { afterAll, describe, expect, it } from "vitest";
import type { LedgerEntry } from "../../src/ca/index.js";
import { Database, isTransient, PgStore } from "../../src/store/index.js";
import { PgJournal } from "../../src/store/postgres/journal.js";
import { PgLedger } from "../../src/store/postgres/ledger.js";
import { migrate } from "../../src/store/postgres/migrate.js";
import { lineTiming, registerStation, stopStation } from "../../src/store/postgres/stations.js";
import { runCli } from "../pipeline/station-child.js";
import { usePgCluster } from "./pg-cluster.js";
import { testStation } from "./stations.js";

const cluster = usePgCluster();
const open: Database[] = [];
// Hooks run as a stack: the pools close before the cluster stops.
afterAll(async () => {
  await Promise.all(open.map((db) => db.close()));
});

async function freshDb(): Promise<{ url: string; db: Database }> {
  const url = cluster().url(await cluster().createDatabase());
  const db = new Database(url, { retryForMs: 5_000 });
  open.push(db);
  await migrate(db);
  return { url, db };
}

const identity = (deviceId: string, imei: string) =>
  ({ type: "identity", port: "/dev/test", imei, deviceUuid: `uuid-${imei}`, deviceId }) as const;

function entry(deviceId: string, serialNumber: string): LedgerEntry {
  return {
    serialNumber,
    deviceId,
    sha256Fingerprint: `fp-${serialNumber}`,
    notBefore: "2026-01-01T00:00:00.000Z",
    notAfter: "2027-01-01T00:00:00.000Z",
    issuedAt: "2026-01-01T00:00:00.000Z",
    source: "test",
    pem: "(pem)",
  };
}

const cert = (i: number) => ({ sha256Fingerprint: `fp-${i}`, certificatePem: `(cert ${i})` });

async function journalFor(db: Database, id: string, claimTimeoutMs = 30_000) {
  const timing = lineTiming(claimTimeoutMs);
  await registerStation(db, testStation(id), timing);
  return PgJournal.open(db, { stationId: id, timing, onboarding: true, path: id });
}

describe("line db migrate / check", () => {
  it("check fails (exit 7) before migrate; migrate applies once and is idempotent", async () => {
    const url = cluster().url(await cluster().createDatabase());
    const before = await runCli(["line", "db", "check", "--store", url], {});
    expect(before.exitCode).toBe(7);
    expect(before.stdout).toContain("001_init.sql");
    const first = await runCli(["line", "db", "migrate", "--store", url], {});
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toContain("applied 001_init.sql, 002_uploads.sql");
    const again = await runCli(["line", "db", "migrate", "--store", url], {});
    expect(again.stdout).toContain("nothing to apply");
    const check = await runCli(["line", "db", "check", "--store", url, "--json"], {});
    expect(check.exitCode).toBe(0);
    expect(JSON.parse(check.stdout)).toEqual({ current: true, applied: [1, 2], pending: [] });
  }, 60_000);

  it("a station on an unmigrated database is refused with ERR_STORE_SCHEMA", async () => {
    const url = cluster().url(await cluster().createDatabase());
    const store = new PgStore(url, { retryForMs: 2_000 });
    await expect(store.readLineStatus()).rejects.toMatchObject({ code: "ERR_STORE_SCHEMA" });
    await store.close();
  });

  it("a URL that is not postgres:// is a usage error", async () => {
    const run = await runCli(["line", "status", "--store", "mysql://x@y/z"], {});
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("ERR_STORE_URL");
  });
});

describe("stations", () => {
  it("the same station ID running twice is refused", async () => {
    const { db } = await freshDb();
    const timing = lineTiming();
    await registerStation(db, testStation("S1", 1), timing); // pid 1 runs: a live holder
    await expect(registerStation(db, testStation("S1"), timing)).rejects.toMatchObject({
      code: "ERR_STORE_STATION_RUNNING",
    });
    await registerStation(db, testStation("S2"), timing);
  });

  it("a killed station's ID on the same host may start again at once", async () => {
    const { db } = await freshDb();
    await registerStation(db, testStation("S1", 2 ** 22 + 7), lineTiming()); // no such process
    await registerStation(db, testStation("S1"), lineTiming());
  });
});

describe("claims: exactly once across the line", () => {
  it("two stations racing for the same board: one claims it, the other is refused", async () => {
    const { db } = await freshDb();
    const [a, b] = await Promise.all([journalFor(db, "A"), journalFor(db, "B")]);
    const results = await Promise.allSettled([
      a.record(identity("nrf-1", "351")),
      b.record(identity("nrf-1", "351")),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: "ERR_STORE_BOARD_CLAIMED" });
    // The same IMEI under another device ID is the same board.
    const winner = results[0]!.status === "fulfilled" ? b : a;
    await expect(winner.record(identity("nrf-other", "351"))).rejects.toMatchObject({
      code: "ERR_STORE_BOARD_CLAIMED",
    });
  });

  it("a board from a stopped station resumes on another with its shared history", async () => {
    const { db } = await freshDb();
    const a = await journalFor(db, "A");
    await a.record(identity("nrf-2", "352"));
    await a.record({ type: "keygen-start", deviceId: "nrf-2", secTag: 16842753 });
    await a.record({
      type: "keygen-done",
      deviceId: "nrf-2",
      secTag: 16842753,
      csrPem: "(csr)",
      publicKeyPem: "(key)",
    });
    const b = await journalFor(db, "B");
    await expect(b.record(identity("nrf-2", "352"))).rejects.toMatchObject({
      code: "ERR_STORE_BOARD_CLAIMED",
    });
    await stopStation(db, "A");
    await b.record(identity("nrf-2", "352"));
    expect(b.recall("nrf-2")).toMatchObject({
      keygenInFlight: false,
      keygen: { csrPem: "(csr)", publicKeyPem: "(key)" },
    });
  });

  it("records of boards written at once are committed together, each board's in its order", async () => {
    const { db } = await freshDb();
    const a = await journalFor(db, "A");
    const boards = Array.from({ length: 8 }, (_, i) => `nrf-g${i}`);
    await Promise.all(boards.map((id, i) => a.record(identity(id, `35${i}`))));
    const before = db.stats.roundTrips;
    // Each board goes through its steps one record after the other, all boards at once.
    await Promise.all(
      boards.map(async (deviceId, i) => {
        await a.record({ type: "keygen-start", deviceId, secTag: 16842753 });
        await a.record({ type: "issued", deviceId, serialNumber: `0${i}`, ...cert(i) });
        await a.record({
          type: "provisioned",
          deviceId,
          imei: `35${i}`,
          port: "/dev/test",
          secTag: 16842753,
          sha256Fingerprint: `fp-${i}`,
        });
      }),
    );
    const written = db.stats.roundTrips - before;
    expect(written).toBeLessThan(3 * boards.length);
    const events = await db.query<{ device_ids: string[]; type: string }>(
      "SELECT device_ids, type FROM events ORDER BY seq",
    );
    for (const deviceId of boards) {
      expect(events.filter((e) => e.device_ids.includes(deviceId)).map((e) => e.type)).toEqual([
        "identity",
        "keygen-start",
        "issued",
        "provisioned",
      ]);
    }
    const devices = await db.query<{ step: string; expected_fingerprint: string }>(
      "SELECT step, expected_fingerprint FROM devices ORDER BY device_id",
    );
    expect(devices).toEqual(
      boards.map((_, i) => ({ step: "provisioned", expected_fingerprint: `fp-${i}` })),
    );
    // A second station taking over a board sees the same history.
    await stopStation(db, "A");
    const b = await journalFor(db, "B");
    await b.record(identity("nrf-g3", "353"));
    expect(b.recall("nrf-g3")?.provisioned?.sha256Fingerprint).toBe("fp-3");
  });

  it("a station silent past the claim timeout loses its claims", async () => {
    const { db } = await freshDb();
    const a = await journalFor(db, "A", 1_000);
    await a.record(identity("nrf-3", "353"));
    const b = await journalFor(db, "B", 1_000);
    // A never beats again (killed): once its heartbeat is older than 1 s, B may claim.
    await db.query("UPDATE stations SET heartbeat = now() - interval '5 seconds' WHERE id = 'A'");
    await b.record(identity("nrf-3", "353"));
    const [row] = await db.query<{ claimed_by: string }>(
      "SELECT claimed_by FROM devices WHERE device_id = 'nrf-3'",
    );
    expect(row!.claimed_by).toBe("B");
  });

  it("after an outage that expired its heartbeat, a station's next record re-checks the board's claim", async () => {
    const { db } = await freshDb();
    const a = await journalFor(db, "A", 1_000);
    const b = await journalFor(db, "B", 1_000);
    await a.record(identity("nrf-11", "361"));
    await a.record(identity("nrf-12", "362"));
    // A cannot reach the database for longer than the claim timeout; B takes nrf-11 over.
    await db.query("UPDATE stations SET heartbeat = now() - interval '5 seconds' WHERE id = 'A'");
    await b.record(identity("nrf-11", "361"));
    const keygen = (deviceId: string) =>
      ({ type: "keygen-start", deviceId, secTag: 16842753 }) as const;
    await expect(a.record(keygen("nrf-11"))).rejects.toMatchObject({
      code: "ERR_STORE_BOARD_CLAIMED",
      details: { deviceId: "nrf-11", holder: "B", stationId: "A" },
    });
    const fromA = await db.query(
      "SELECT 1 FROM events WHERE station_id = 'A' AND type = 'keygen-start'",
    );
    expect(fromA).toEqual([]);
    // nrf-12's claim was released (a beat of B) and nobody took it: A's next record takes it back.
    await db.query("UPDATE devices SET claimed_by = NULL WHERE device_id = 'nrf-12'");
    await a.record(keygen("nrf-12"));
    const claims = await db.query<{ device_id: string; claimed_by: string; step: string }>(
      "SELECT device_id, claimed_by, step FROM devices ORDER BY device_id",
    );
    expect(claims).toEqual([
      { device_id: "nrf-11", claimed_by: "B", step: "identity" },
      { device_id: "nrf-12", claimed_by: "A", step: "keygen" },
    ]);
    // A's failure report for the board it lost is kept as an event; B's board is left as it is.
    await a.record({
      type: "board-failed",
      port: "/dev/test",
      deviceId: "nrf-11",
      step: "keygen",
      code: "ERR_STORE_BOARD_CLAIMED",
      message: "lost",
    });
    const [board] = await db.query<{ state: string; station_id: string }>(
      "SELECT state, station_id FROM devices WHERE device_id = 'nrf-11'",
    );
    expect(board).toEqual({ state: "in-progress", station_id: "B" });
    const failed = await db.query("SELECT 1 FROM events WHERE type = 'board-failed'");
    expect(failed).toHaveLength(1);
  });

  it("in one grouped write, a lost board's record is refused alone and the held board's is kept", async () => {
    const { db } = await freshDb();
    const a = await journalFor(db, "A", 1_000);
    const b = await journalFor(db, "B", 1_000);
    await a.record(identity("nrf-21", "371"));
    await a.record(identity("nrf-22", "372"));
    await db.query("UPDATE stations SET heartbeat = now() - interval '5 seconds' WHERE id = 'A'");
    await b.record(identity("nrf-21", "371"));
    const before = db.stats.roundTrips;
    const keygen = (deviceId: string) =>
      a.record({ type: "keygen-start", deviceId, secTag: 16842753 });
    const [lost, held] = await Promise.allSettled([keygen("nrf-21"), keygen("nrf-22")]);
    // Both went out in one statement.
    expect(db.stats.roundTrips - before).toBe(1);
    expect(lost).toMatchObject({
      status: "rejected",
      reason: { code: "ERR_STORE_BOARD_CLAIMED", details: { deviceId: "nrf-21", holder: "B" } },
    });
    expect(held.status).toBe("fulfilled");
    const events = await db.query<{ device_ids: string[] }>(
      "SELECT device_ids FROM events WHERE station_id = 'A' AND type = 'keygen-start'",
    );
    expect(events).toEqual([{ device_ids: ["nrf-22"] }]);
    const claims = await db.query<{ device_id: string; claimed_by: string; step: string }>(
      "SELECT device_id, claimed_by, step FROM devices ORDER BY device_id",
    );
    expect(claims).toEqual([
      { device_id: "nrf-21", claimed_by: "B", step: "identity" },
      { device_id: "nrf-22", claimed_by: "A", step: "keygen" },
    ]);
  });

  it("taking a board over does not replay its old bulk records onto the boards the station holds", async () => {
    const { db } = await freshDb();
    const a = await journalFor(db, "A");
    const b = await journalFor(db, "B");
    const provisioned = (deviceId: string, imei: string) =>
      ({
        type: "provisioned",
        deviceId,
        imei,
        port: "/dev/test",
        secTag: 16842753,
        sha256Fingerprint: `fp-${deviceId}`,
      }) as const;
    await a.record(identity("nrf-y", "371"));
    await a.record(provisioned("nrf-y", "371"));
    await b.record(identity("nrf-x", "372"));
    await b.record(provisioned("nrf-x", "372"));
    // One bulk job, sent by A, carries both stations' boards.
    await a.record({
      type: "onboard-start",
      deviceIds: ["nrf-y", "nrf-x"],
      sha256Fingerprints: ["fp-nrf-y", "fp-nrf-x"],
    });
    for (const deviceId of ["nrf-y", "nrf-x"]) {
      await a.record({ type: "onboarded", deviceId, sha256Fingerprint: `fp-${deviceId}` });
    }
    expect(a.recall("nrf-x")).toBeUndefined(); // B's board: not in A's histories
    await stopStation(db, "B");
    await a.record(identity("nrf-x", "372"));
    expect(a.recall("nrf-x")?.onboarding).toEqual({
      state: "succeeded",
      sha256Fingerprint: "fp-nrf-x",
    });
    expect(a.recall("nrf-y")?.onboarding).toEqual({
      state: "succeeded",
      sha256Fingerprint: "fp-nrf-y",
    });
    // Opened again, A's journal folds each held board's history once, in order.
    const again = await journalFor(db, "A");
    expect(again.histories().map((h) => [h.deviceId, h.onboarding.state])).toEqual([
      ["nrf-y", "succeeded"],
      ["nrf-x", "succeeded"],
    ]);
  });

  it("events are append-only and a damaged one stops the station", async () => {
    const { db } = await freshDb();
    const a = await journalFor(db, "A");
    await a.record(identity("nrf-4", "354"));
    await expect(db.query("UPDATE events SET record = record || ' '")).rejects.toThrow(
      /append-only/,
    );
    await db.query("ALTER TABLE events DISABLE TRIGGER events_append_only");
    await db.query(`UPDATE events SET record = replace(record, '354', '355')`);
    await expect(journalFor(db, "A")).rejects.toMatchObject({ code: "ERR_STORE_EVENT_CORRUPT" });
  });
});

describe("the line's ledger and ca revoke-station", () => {
  it("serials are unique per issuer; a revoked station's issuance is refused line-wide", async () => {
    const { url, db } = await freshDb();
    await registerStation(db, testStation("S1"), lineTiming());
    const ledger = await PgLedger.open(db, "S1", "issuer-of-S1");
    await ledger.append(entry("nrf-5", "0a"));
    await ledger.append(entry("nrf-5", "0a")); // a retry after a lost COMMIT: the same row
    await expect(
      ledger.append({ ...entry("nrf-6", "0a"), sha256Fingerprint: "other" }),
    ).rejects.toMatchObject({ code: "ERR_LEDGER_DUPLICATE_SERIAL" });
    expect(await ledger.find({ deviceId: "nrf-5" })).toHaveLength(1);
    expect(
      (
        await ledger.find({ sha256Fingerprints: [entry("nrf-5", "0a").sha256Fingerprint, "other"] })
      ).map((e) => e.deviceId),
    ).toEqual(["nrf-5"]);
    expect(await ledger.find({ sha256Fingerprints: ["other"] })).toEqual([]);
    // Certificates issued at once are recorded together, each with its own outcome.
    const before = db.stats.roundTrips;
    const together = await Promise.allSettled([
      ...Array.from({ length: 6 }, (_, i) => ledger.append(entry(`nrf-b${i}`, `1${i}`))),
      ledger.append({ ...entry("nrf-b9", "0a"), sha256Fingerprint: "another" }),
    ]);
    expect(together.map((result) => result.status)).toEqual([
      ...Array(6).fill("fulfilled"),
      "rejected",
    ]);
    expect(together[6]).toMatchObject({ reason: { code: "ERR_LEDGER_DUPLICATE_SERIAL" } });
    expect(db.stats.roundTrips - before).toBeLessThan(7);
    expect(ledger.knownCount).toBe(7);
    expect((await ledger.find()).map((e) => e.serialNumber).sort()).toEqual([
      "0a",
      "10",
      "11",
      "12",
      "13",
      "14",
      "15",
    ]);

    const unknown = await runCli(["ca", "revoke-station", "S9", "--store", url], {});
    expect(unknown.exitCode).toBe(7);
    expect(unknown.stderr).toContain("ERR_STORE_STATION_UNKNOWN");
    const revoked = await runCli(["ca", "revoke-station", "S1", "--store", url], {});
    expect(revoked.exitCode, revoked.stderr).toBe(0);
    await expect(ledger.append(entry("nrf-7", "0b"))).rejects.toMatchObject({
      code: "ERR_STORE_STATION_REVOKED",
    });
    expect(await ledger.find({ deviceId: "nrf-7" })).toEqual([]);
    const exported = await runCli(["line", "export", "--store", url, "--csv"], {});
    expect(exported.exitCode).toBe(0);
  }, 60_000);
});

describe("transient errors", () => {
  it("connection failures are waited out, SQL errors are not", () => {
    expect(isTransient(Object.assign(new Error("x"), { code: "ECONNREFUSED" }))).toBe(true);
    expect(isTransient(Object.assign(new Error("x"), { code: "57P01" }))).toBe(true);
    expect(isTransient(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(isTransient(Object.assign(new Error("x"), { code: "23505" }))).toBe(false);
  });
});

describe("line status and line export", () => {
  it("report a finished board as text, CSV, and only what changed --since", async () => {
    const { url, db } = await freshDb();
    const a = await journalFor(db, "A");
    const ledger = await PgLedger.open(db, "A", "issuer-of-A");
    await a.record(identity("nrf-8", "358"));
    await ledger.append(entry("nrf-8", "0c"));
    await a.record({
      type: "issued",
      deviceId: "nrf-8",
      serialNumber: "0c",
      sha256Fingerprint: "fp-0c",
      certificatePem: "(pem)",
    });
    await a.record({
      type: "provisioned",
      deviceId: "nrf-8",
      imei: "358",
      port: "/dev/test",
      secTag: 16842753,
      sha256Fingerprint: "fp-0c",
    });
    await a.record({ type: "onboarded", deviceId: "nrf-8", sha256Fingerprint: "fp-0c" });
    await a.record({
      type: "board-failed",
      port: "/dev/other",
      step: "identity",
      code: "ERR_AT_TIMEOUT",
      message: "no answer",
    });

    const status = await runCli(["line", "status", "--store", url], {});
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toContain("station A");
    expect(status.stdout).toContain("1 done, 0 failed");
    expect(status.stdout).toContain("/dev/other identity: ERR_AT_TIMEOUT: no answer");

    const csv = await runCli(["line", "export", "--store", url, "--csv"], {});
    const [header, row, ...rest] = csv.stdout.trim().split("\n");
    expect(header).toBe(
      "deviceId,imei,uuid,serialNumber,sha256Fingerprint,issuingStation,issuerFingerprint,stationRevoked,state,onboarding,updatedAt",
    );
    expect(row).toMatch(/^nrf-8,358,uuid-358,0c,fp-0c,A,issuer-of-A,false,done,succeeded,/);
    expect(rest).toEqual([]);
    const later = await runCli(
      ["line", "export", "--store", url, "--csv", "--since", "2999-01-01T00:00:00Z"],
      {},
    );
    expect(later.stdout.trim().split("\n")).toHaveLength(1);
    const both = await runCli(["line", "export", "--store", url, "--csv", "--jsonl"], {});
    expect(both.exitCode).toBe(2);
  }, 60_000);
});
