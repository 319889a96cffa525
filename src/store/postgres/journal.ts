import { randomUUID } from "node:crypto";
import {
  applyJournalRecord,
  type DeviceHistory,
  deviceIdsOf,
  type JournalFact,
  type JournalRecord,
  recordChecksum,
  type StationJournal,
} from "../../pipeline/journal.js";
import { StoreError } from "../errors.js";
import type { Database, Queryable } from "./database.js";
import { aliveSql, type LineTiming } from "./stations.js";

/** A journal record as the store keeps it: the JSON text and its checksum, as in the file. */
interface EventRow {
  record: string;
  checksum: string;
  seq: string;
}

export interface PgJournalOptions {
  stationId: string;
  timing: LineTiming;
  /** A board is done once onboarded (else once provisioned). */
  onboarding: boolean;
  /** Shown where the station shows its journal. */
  path: string;
  /** The station's own journal file: a local copy of every record it writes. */
  localCopy?: { record(fact: JournalFact): Promise<void> };
  clock?: () => number;
}

/**
 * The station journal kept in the line's database (`events`, append-only, each record with the
 * journal's checksum). A station sees the history of the boards it holds: on `identity` it
 * claims the board in a transaction (refused while another live station holds it) and takes
 * over the board's shared history, so a board moved from a crashed station resumes exactly as
 * on a single station. At open it also takes up the boards it held before and the provisioned,
 * not yet onboarded boards of dead stations (their uploads are finished here).
 */
export class PgJournal implements StationJournal {
  readonly path: string;
  readonly #db: Database;
  readonly #options: PgJournalOptions;
  readonly #devices = new Map<string, DeviceHistory>();
  readonly #records: JournalRecord[] = [];

  private constructor(db: Database, options: PgJournalOptions) {
    this.#db = db;
    this.#options = options;
    this.path = options.path;
  }

  static async open(db: Database, options: PgJournalOptions): Promise<PgJournal> {
    const journal = new PgJournal(db, options);
    const rows = await db.transaction(async (tx) => {
      await adoptOrphans(tx, options);
      return tx.query<EventRow>(
        `SELECT e.record, e.checksum, e.seq FROM events e
         WHERE e.device_ids && ARRAY(SELECT device_id FROM devices WHERE claimed_by = $1)
         ORDER BY e.seq`,
        [options.stationId],
      );
    });
    const records = rows.map(parseEvent);
    // The boards it holds: each has its identity among these events (claim_device wrote it).
    const held = new Set(records.flatMap((r) => (r.type === "identity" ? [r.deviceId] : [])));
    for (const record of records) journal.#apply(record, held);
    return journal;
  }

  get records(): readonly JournalRecord[] {
    return this.#records;
  }

  recall(deviceId: string): DeviceHistory | undefined {
    return this.#devices.get(deviceId);
  }

  histories(): DeviceHistory[] {
    return [...this.#devices.values()];
  }

  async record(fact: JournalFact): Promise<void> {
    const clock = this.#options.clock ?? Date.now;
    const record = { ...fact, at: new Date(clock()).toISOString() } as JournalRecord;
    const json = JSON.stringify(record);
    const event = { id: randomUUID(), json, checksum: recordChecksum(json), record };
    if (record.type === "identity") {
      const history = await this.#claim(record, event);
      const board = new Set([record.deviceId]);
      for (const row of history) this.#apply(parseEvent(row), board);
    } else {
      await insertEvent(this.#db, this.#options, event);
    }
    await this.#options.localCopy?.record(fact);
    this.#apply(record);
  }

  /**
   * Folds a record into the histories of the boards this station holds. A bulk job it sent
   * may carry other stations' boards (the line's upload queue): those stay theirs, and a
   * board's history always starts with its `identity`. `onlyFor`: earlier history read from
   * the store moves only the boards it was read for; an old bulk record in a board's history
   * that also names boards this station holds says nothing new about them (applied again, it
   * would set their upload back).
   */
  #apply(record: JournalRecord, onlyFor?: ReadonlySet<string>): void {
    this.#records.push(record);
    const folded = deviceIdsOf(record).filter((id) =>
      onlyFor === undefined ? this.#devices.has(id) || record.type === "identity" : onlyFor.has(id),
    );
    const scoped = new Map(
      folded.flatMap((id) => {
        const history = this.#devices.get(id);
        return history === undefined ? [] : [[id, history] as const];
      }),
    );
    applyJournalRecord(scoped, record);
    for (const id of folded) this.#devices.set(id, scoped.get(id)!);
  }

  /**
   * Claims the board (by device ID and IMEI) and returns its earlier shared history, in one
   * round trip (claim_device, migrations/001_init.sql).
   */
  async #claim(
    record: Extract<JournalRecord, { type: "identity" }>,
    event: NewEvent,
  ): Promise<EventRow[]> {
    const { stationId, timing } = this.#options;
    const rows = await this.#db.query<{
      out_holder: string | null;
      out_record: string;
      out_checksum: string;
      out_seq: string;
    }>("SELECT * FROM claim_device($1, $2, $3, $4, $5, $6, $7, $8, $9)", [
      record.deviceId,
      record.imei,
      record.deviceUuid,
      stationId,
      timing.claimTimeoutMs / 1000,
      record.at,
      event.id,
      event.json,
      event.checksum,
    ]);
    const holder = rows[0]?.out_holder;
    if (holder) throw boardClaimed(record, holder, stationId);
    // What this station already has in memory is not applied twice.
    return rows
      .map((row) => ({ record: row.out_record, checksum: row.out_checksum, seq: row.out_seq }))
      .filter((row) => !this.#seen(row, record.deviceId));
  }

  #seen(row: EventRow, deviceId: string): boolean {
    return (
      this.#devices.has(deviceId) && this.#records.some((r) => JSON.stringify(r) === row.record)
    );
  }
}

interface NewEvent {
  id: string;
  json: string;
  checksum: string;
  record: JournalRecord;
}

/**
 * The board's state for `line status` and `line export`, as the record moves it. Undefined
 * fields stay as they were.
 */
function deviceUpdate(
  record: JournalRecord,
  onboarding: boolean,
): {
  state?: string;
  step?: string;
  fingerprint?: string;
  onboarding?: string;
} {
  switch (record.type) {
    case "offline":
      return { step: "offline" };
    case "keygen-start":
      return { step: "keygen", state: "in-progress" };
    case "keygen-done":
      return { step: "keygen" };
    case "issued":
      return { step: "issue", fingerprint: record.sha256Fingerprint };
    case "provisioned":
      return {
        step: "provisioned",
        fingerprint: record.sha256Fingerprint,
        ...(onboarding ? {} : { state: "done" }),
      };
    case "board-failed":
      return { step: record.step, state: "failed" };
    case "onboard-start":
      return { step: "onboard", onboarding: "in-flight" };
    case "bulk-submitted":
      return { onboarding: "submitted" };
    case "onboarded":
      return { step: "onboarded", onboarding: "succeeded", state: "done" };
    case "onboard-failed":
      return { step: "onboard", onboarding: "failed", state: "failed" };
    default:
      return {};
  }
}

/**
 * Records of an upload: the station that sent a bulk job is not the one its boards belong to
 * (a job carries the rows of every station of the line).
 */
const UPLOAD_RECORDS = new Set<JournalRecord["type"]>([
  "onboard-start",
  "bulk-submitted",
  "onboarded",
  "onboard-failed",
]);

/**
 * Appends one record and moves its boards' state, in one statement (one round trip). The event
 * ID makes a retry after a lost COMMIT a no-op instead of a second record.
 *
 * A board's own records (not the upload records, which any station writes for the rows of a
 * job it sent) re-check the claim in the same statement: after an outage long enough for this
 * station's heartbeat to expire, another station may have taken the board over, and then this
 * one must stop working on it (ERR_STORE_BOARD_CLAIMED, nothing recorded). A claim released
 * and not taken by anyone is taken back. `board-failed` is recorded either way (the event, not
 * the board's state).
 */
async function insertEvent(
  on: Queryable,
  options: PgJournalOptions,
  event: NewEvent,
): Promise<void> {
  const update = deviceUpdate(event.record, options.onboarding);
  const upload = UPLOAD_RECORDS.has(event.record.type);
  const deviceIds = deviceIdsOf(event.record);
  const boardRecord = !upload && deviceIds.length > 0;
  const [result] = await on.query<{ held: boolean; holder: string | null }>(
    `WITH moved AS (
       UPDATE devices SET
         claimed_by = CASE WHEN $14 THEN $2 ELSE claimed_by END,
         claimed_at = CASE WHEN $14 AND claimed_by IS NULL THEN now() ELSE claimed_at END,
         station_id = CASE WHEN $13 THEN station_id ELSE $2 END,
         updated_at = $5, state = COALESCE($8, state),
         step = COALESCE($9, step), expected_fingerprint = COALESCE($10, expected_fingerprint),
         onboarding = COALESCE($11, onboarding)
       WHERE device_id = ANY($4::text[]) AND ($12 OR $14)
         AND (NOT $14 OR claimed_by IS NULL OR claimed_by = $2)
       RETURNING 1),
     e AS (
       INSERT INTO events (event_id, station_id, type, device_ids, at, record, checksum)
       SELECT $1::uuid, $2::text, $3::text, $4::text[], $5::timestamptz, $6::text, $7::text
       WHERE NOT $14 OR $3::text = 'board-failed' OR EXISTS (SELECT 1 FROM moved)
       ON CONFLICT (event_id) DO NOTHING)
     SELECT NOT $14 OR EXISTS (SELECT 1 FROM moved) AS held,
       (SELECT claimed_by FROM devices WHERE device_id = ANY($4::text[]) LIMIT 1) AS holder`,
    [
      event.id,
      options.stationId,
      event.record.type,
      deviceIds,
      event.record.at,
      event.json,
      event.checksum,
      update.state ?? null,
      update.step ?? null,
      update.fingerprint ?? null,
      update.onboarding ?? null,
      Object.keys(update).length > 0,
      upload,
      boardRecord,
    ],
  );
  if (result?.held === false && event.record.type !== "board-failed") {
    throw claimLost(deviceIds[0]!, result.holder ?? "(another station)", options.stationId);
  }
}

/**
 * Boards provisioned by a station that is gone, whose upload was never confirmed: this station
 * takes their claims so that its onboarding recovery finishes them.
 */
async function adoptOrphans(tx: Queryable, options: PgJournalOptions): Promise<void> {
  if (!options.onboarding) return;
  await tx.query(
    `UPDATE devices d SET claimed_by = $1, claimed_at = now()
     WHERE d.expected_fingerprint IS NOT NULL AND d.onboarding <> 'succeeded'
       AND d.step IN ('provisioned', 'onboard', 'onboarded')
       AND (d.claimed_by IS NULL OR d.claimed_by IN (
         SELECT s.id FROM stations s WHERE s.id <> $1 AND NOT ${aliveSql("$2")}))`,
    [options.stationId, options.timing.claimTimeoutMs / 1000],
  );
}

/** A record from the store, checked as the file journal checks a line. */
function parseEvent(row: EventRow): JournalRecord {
  let record: JournalRecord | undefined;
  if (recordChecksum(row.record) === row.checksum) {
    try {
      record = JSON.parse(row.record) as JournalRecord;
    } catch {
      record = undefined;
    }
  }
  if (record !== undefined && typeof record.type === "string") return record;
  throw new StoreError(
    "ERR_STORE_EVENT_CORRUPT",
    `Event ${row.seq} in the line's database fails its checksum (it was edited or damaged); nothing was done from it. Restore the events table from a backup.`,
    { details: { seq: row.seq } },
  );
}

function boardClaimed(
  record: Extract<JournalRecord, { type: "identity" }>,
  holder: string,
  stationId: string,
): StoreError {
  return new StoreError(
    "ERR_STORE_BOARD_CLAIMED",
    `Board ${record.deviceId} (IMEI ${record.imei}) is being provisioned by station ${holder}; station ${stationId} left it alone. If ${holder} has stopped, its claim is released once its heartbeat expires: plug the board in again then.`,
    { details: { deviceId: record.deviceId, imei: record.imei, holder, stationId } },
  );
}

function claimLost(deviceId: string, holder: string, stationId: string): StoreError {
  return new StoreError(
    "ERR_STORE_BOARD_CLAIMED",
    `Station ${stationId} lost its claim on board ${deviceId}: while it could not reach the line's database its heartbeat expired, and station ${holder} took the board over. ${stationId} stops working on it (nothing more is recorded for it here); ${holder} resumes it from the shared journal.`,
    { details: { deviceId, holder, stationId } },
  );
}
