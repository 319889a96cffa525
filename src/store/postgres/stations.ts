import { hostname } from "node:os";
import { StoreError } from "../errors.js";
import type { Database, Queryable } from "./database.js";

export interface StationIdentity {
  id: string;
  host: string;
  pid: number;
  /** The CA it issues with: its certificate (PEM), SHA-256 fingerprint and serial (hex). */
  issuer: { certificatePem: string; sha256Fingerprint: string; serialNumber: string };
}

export interface LineTiming {
  /** A station whose heartbeat is older than this is dead: its claims are free (30 s). */
  claimTimeoutMs: number;
  /** How often a running station says it is alive (claimTimeoutMs / 3). */
  heartbeatMs: number;
}

export function lineTiming(claimTimeoutMs = 30_000): LineTiming {
  return { claimTimeoutMs, heartbeatMs: Math.max(200, Math.floor(claimTimeoutMs / 3)) };
}

/** SQL: the station row `s` is running (not stopped, heartbeat within $N seconds). */
export function aliveSql(timeoutParam: string): string {
  return `(s.stopped_at IS NULL AND s.heartbeat > now() - make_interval(secs => ${timeoutParam}))`;
}

/**
 * Registers a station as running. Refused (ERR_STORE_STATION_RUNNING) while a station with the
 * same ID is alive elsewhere: two stations under one ID would take each other's boards. The
 * same ID on this host whose process is gone (killed) may start again at once.
 */
export async function registerStation(
  db: Database,
  station: StationIdentity,
  timing: LineTiming,
): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx.query<{ host: string; pid: number; alive: boolean; revoked: boolean }>(
      `SELECT s.host, s.pid, ${aliveSql("$2")} AS alive, s.revoked FROM stations s WHERE s.id = $1 FOR UPDATE`,
      [station.id, timing.claimTimeoutMs / 1000],
    );
    if (
      row?.alive &&
      !(row.host === station.host && (row.pid === station.pid || !processRuns(row.pid)))
    ) {
      throw new StoreError(
        "ERR_STORE_STATION_RUNNING",
        `Station ${station.id} is already running (process ${row.pid} on ${row.host}). Each station needs its own --station-id; if that process is gone, wait ${Math.ceil(timing.claimTimeoutMs / 1000)} s for its heartbeat to expire.`,
        { details: { stationId: station.id, host: row.host, pid: row.pid } },
      );
    }
    if (row?.revoked) {
      throw new StoreError(
        "ERR_STORE_STATION_REVOKED",
        `Station ${station.id} is revoked on this line (ca revoke-station): it may not issue. Give the station a new intermediate (ca delegate) and a new --station-id.`,
        { details: { stationId: station.id } },
      );
    }
    await upsertStation(tx, station);
  });
}

async function upsertStation(tx: Queryable, station: StationIdentity): Promise<void> {
  await tx.query(
    `INSERT INTO stations (id, host, pid, issuer_certificate, issuer_fingerprint, issuer_serial)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (id) DO UPDATE SET host = $2, pid = $3, started_at = now(), heartbeat = now(),
       stopped_at = NULL, issuer_certificate = $4, issuer_fingerprint = $5, issuer_serial = $6`,
    [
      station.id,
      station.host,
      station.pid,
      station.issuer.certificatePem,
      station.issuer.sha256Fingerprint,
      station.issuer.serialNumber,
    ],
  );
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Says the station is alive every `heartbeatMs`, and frees the claims of stations whose
 * heartbeat has expired. A missed beat (database away) is retried by the next one.
 */
export function startHeartbeat(db: Database, stationId: string, timing: LineTiming): () => void {
  let beating = false;
  const timer = setInterval(() => {
    if (beating) return;
    beating = true;
    beat(db, stationId, timing)
      .catch(() => {})
      .finally(() => {
        beating = false;
      });
  }, timing.heartbeatMs);
  timer.unref();
  return () => clearInterval(timer);
}

async function beat(db: Database, stationId: string, timing: LineTiming): Promise<void> {
  await db.query(
    `WITH beat AS (UPDATE stations SET heartbeat = now() WHERE id = $1)
     UPDATE devices d SET claimed_by = NULL, claimed_at = NULL
       FROM stations s WHERE d.claimed_by = s.id AND s.id <> $1 AND NOT ${aliveSql("$2")}`,
    [stationId, timing.claimTimeoutMs / 1000],
  );
}

/** The station ended normally: its claims are free at once; its counters are kept. */
export async function stopStation(db: Database, stationId: string): Promise<void> {
  const { roundTrips, ms } = db.stats;
  await db.query(
    `WITH released AS (UPDATE devices SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by = $1)
     UPDATE stations SET stopped_at = now(), heartbeat = now(),
       db_round_trips = db_round_trips + $2 + 1, db_ms = db_ms + $3 WHERE id = $1`,
    [stationId, roundTrips, ms],
  );
}

/**
 * `ca revoke-station`: the station's CA (its intermediate) is refused line-wide from now on;
 * what it issued before stays listed (`line export`). ERR_STORE_STATION_UNKNOWN for an ID the
 * line never saw (a typo would otherwise revoke nothing).
 */
export async function revokeStation(
  db: Database,
  stationId: string,
): Promise<{ issuerFingerprint: string | null }> {
  const [row] = await db.query<{ issuer_fingerprint: string | null }>(
    `UPDATE stations SET revoked = true, revoked_at = COALESCE(revoked_at, now()) WHERE id = $1
     RETURNING issuer_fingerprint`,
    [stationId],
  );
  if (row === undefined) {
    throw new StoreError(
      "ERR_STORE_STATION_UNKNOWN",
      `No station ${stationId} has ever run on this line; nothing was revoked. "nrf-provision line status --store URL" lists the stations.`,
      { details: { stationId } },
    );
  }
  return { issuerFingerprint: row.issuer_fingerprint };
}

export function thisHost(): string {
  return hostname();
}
