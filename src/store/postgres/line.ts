import type { BoardStatus, FailureRecord, LineStatus, StationStatus } from "../../line/status.js";
import type { Database } from "./database.js";
import { aliveSql } from "./stations.js";

/** Boards finished within this window count towards the rate. */
const RATE_WINDOW_MINUTES = 5;
const RECENT_FAILURES = 50;

export interface LineStatusOptions {
  /** A station whose heartbeat is older is not alive (30 s). */
  claimTimeoutMs?: number;
  now?: () => Date;
}

/** The line as the store knows it now: the shape `line status --json` prints. */
export async function readLineStatus(
  db: Database,
  options: LineStatusOptions = {},
): Promise<LineStatus> {
  const timeoutS = (options.claimTimeoutMs ?? 30_000) / 1000;
  const [stations, boards, failures, totals] = await Promise.all([
    readStations(db, timeoutS),
    readBoards(db),
    readFailures(db),
    db.query<{ in_progress: string; done: string; failed: string; recent: string }>(
      `SELECT count(*) FILTER (WHERE state = 'in-progress') AS in_progress,
              count(*) FILTER (WHERE state = 'done') AS done,
              count(*) FILTER (WHERE state = 'failed') AS failed,
              count(*) FILTER (WHERE state = 'done' AND updated_at > now() - make_interval(mins => $1)) AS recent
       FROM devices`,
      [RATE_WINDOW_MINUTES],
    ),
  ]);
  const line = totals[0]!;
  return {
    generatedAt: (options.now?.() ?? new Date()).toISOString(),
    stations,
    boards,
    failures,
    line: {
      inProgress: Number(line.in_progress),
      done: Number(line.done),
      failed: Number(line.failed),
      ratePerMinute: Number(line.recent) / RATE_WINDOW_MINUTES,
    },
  };
}

interface StationRow {
  id: string;
  host: string;
  pid: number;
  alive: boolean;
  heartbeat: Date;
  in_progress: string;
  done: string;
  failed: string;
  recent: string;
  issuer_serial: string | null;
  revoked: boolean;
}

/**
 * SQL: every device with the station it is shown under: a finished board under the station
 * that issued its certificate (whoever finished its upload or last plugged it in), any other
 * board under the station working on it (or that last did).
 */
const BOARDS_BY_STATION = `SELECT d.*,
    CASE WHEN d.state = 'done' THEN COALESCE(c.station_id, d.station_id) ELSE d.station_id END AS shown_under
  FROM devices d LEFT JOIN certificates c ON c.sha256_fingerprint = d.expected_fingerprint`;

async function readStations(db: Database, timeoutS: number): Promise<StationStatus[]> {
  const rows = await db.query<StationRow>(
    `SELECT s.id, s.host, s.pid, ${aliveSql("$1")} AS alive, s.heartbeat, s.issuer_serial, s.revoked,
       count(d.*) FILTER (WHERE d.state = 'in-progress') AS in_progress,
       count(d.*) FILTER (WHERE d.state = 'done') AS done,
       count(d.*) FILTER (WHERE d.state = 'failed') AS failed,
       count(d.*) FILTER (WHERE d.state = 'done' AND d.updated_at > now() - make_interval(mins => $2)) AS recent
     FROM stations s LEFT JOIN (${BOARDS_BY_STATION}) d ON d.shown_under = s.id
     GROUP BY s.id ORDER BY s.id`,
    [timeoutS, RATE_WINDOW_MINUTES],
  );
  return rows.map((row) => ({
    id: row.id,
    host: row.host,
    pid: row.pid,
    alive: row.alive,
    lastHeartbeat: row.heartbeat.toISOString(),
    inProgress: Number(row.in_progress),
    done: Number(row.done),
    failed: Number(row.failed),
    ratePerMinute: Number(row.recent) / RATE_WINDOW_MINUTES,
    intermediateSerial: row.issuer_serial ?? undefined,
    revoked: row.revoked,
  }));
}

async function readBoards(db: Database): Promise<BoardStatus[]> {
  const rows = await db.query<{
    device_id: string;
    imei: string | null;
    shown_under: string;
    step: string;
    state: BoardStatus["state"];
    updated_at: Date;
  }>(
    `SELECT device_id, imei, shown_under, step, state, updated_at FROM (${BOARDS_BY_STATION}) d
     ORDER BY updated_at DESC, device_id`,
  );
  return rows.map((row) => ({
    deviceId: row.device_id,
    imei: row.imei ?? undefined,
    station: row.shown_under,
    step: row.step,
    state: row.state,
    updatedAt: row.updated_at.toISOString(),
  }));
}

async function readFailures(db: Database): Promise<FailureRecord[]> {
  const rows = await db.query<{ station_id: string; record: string; at: Date }>(
    `SELECT station_id, record, at FROM events WHERE type IN ('board-failed', 'onboard-failed')
     ORDER BY seq DESC LIMIT $1`,
    [RECENT_FAILURES],
  );
  return rows.map((row) => {
    const record = JSON.parse(row.record) as {
      deviceId?: string;
      imei?: string;
      port?: string;
      step?: string;
      code: string;
      message: string;
    };
    return {
      deviceId: record.deviceId ?? record.port ?? "(unknown)",
      imei: record.imei,
      station: row.station_id,
      step: record.step ?? "onboard",
      code: record.code,
      message: record.message,
      at: row.at.toISOString(),
    };
  });
}

/** One device of the line's audit trail (`line export`). */
export interface ExportedDevice {
  deviceId: string;
  imei: string | null;
  uuid: string | null;
  state: string;
  /**
   * not-started, queued (its row waits in the line's upload queue), in-flight (being sent),
   * submitted (nRF Cloud's job runs), succeeded, failed.
   */
  onboarding: string;
  serialNumber: string | null;
  sha256Fingerprint: string | null;
  issuingStation: string | null;
  issuerFingerprint: string | null;
  stationRevoked: boolean;
  updatedAt: string;
}

/** Every device (changed since `since`), with the certificate that should be on it. */
export async function exportDevices(db: Database, since?: Date): Promise<ExportedDevice[]> {
  const rows = await db.query<{
    device_id: string;
    imei: string | null;
    uuid: string | null;
    state: string;
    onboarding: string;
    serial_number: string | null;
    sha256_fingerprint: string | null;
    station_id: string | null;
    issuer_fingerprint: string | null;
    revoked: boolean | null;
    updated_at: Date;
  }>(
    `SELECT d.device_id, d.imei, d.uuid, d.state,
       CASE WHEN d.onboarding IN ('not-started', 'failed') AND r.state = 'pending' THEN 'queued'
            WHEN d.onboarding = 'not-started' AND r.state = 'sending' THEN 'in-flight'
            ELSE d.onboarding END AS onboarding,
       c.serial_number, c.sha256_fingerprint, c.station_id, c.issuer_fingerprint, s.revoked,
       d.updated_at
     FROM devices d
     LEFT JOIN certificates c ON c.sha256_fingerprint = d.expected_fingerprint
     LEFT JOIN stations s ON s.id = c.station_id
     LEFT JOIN upload_rows r
       ON r.device_id = d.device_id AND r.sha256_fingerprint = d.expected_fingerprint
     WHERE $1::timestamptz IS NULL OR d.updated_at >= $1
     ORDER BY d.first_seen, d.device_id`,
    [since ?? null],
  );
  return rows.map((row) => ({
    deviceId: row.device_id,
    imei: row.imei,
    uuid: row.uuid,
    state: row.state,
    onboarding: row.onboarding,
    serialNumber: row.serial_number,
    sha256Fingerprint: row.sha256_fingerprint,
    issuingStation: row.station_id,
    issuerFingerprint: row.issuer_fingerprint,
    stationRevoked: row.revoked ?? false,
    updatedAt: row.updated_at.toISOString(),
  }));
}
