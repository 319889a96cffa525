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
  #queue: Array<{ event: NewEvent; done: (error?: unknown) => void }> = [];
  #flushing: Promise<void> | undefined;

  private constructor(db: Database, options: PgJournalOptions) {
    this.#db = db;
    this.#options = options;
    this.path = options.path;
  }

  static async open(db: Database, options: PgJournalOptions): Promise<PgJournal> {
    const journal = new PgJournal(db, options);
    const heldHistory = (on: Queryable) =>
      on.query<EventRow>(
        `SELECT e.record, e.checksum, e.seq FROM events e
         WHERE e.device_ids && ARRAY(SELECT device_id FROM devices WHERE claimed_by = $1)
         ORDER BY e.seq`,
        [options.stationId],
      );
    // Without onboarding there are no orphans to adopt: one statement, no transaction.
    const rows = options.onboarding
      ? await db.transaction(async (tx) => {
          await adoptOrphans(tx, options);
          return heldHistory(tx);
        })
      : await heldHistory(db);
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
      // Only a board this station holds goes into its local copy.
      const history = await this.#claim(record, event);
      const board = new Set([record.deviceId]);
      for (const row of history) this.#apply(parseEvent(row), board);
      await this.#options.localCopy?.record(fact);
    } else {
      // Both are written at once, and both before the step goes on. A record states what
      // happened or is about to, so a copy holding one the store refused claims no more.
      await Promise.all([this.#append(event), this.#options.localCopy?.record(fact)]);
    }
    this.#apply(record);
  }

  /**
   * Group commit, as the file journal groups its fsyncs: the events other boards record while
   * one batch is being written go out together in the next one (one statement, one commit).
   * Each caller still waits until its own event is committed, and learns alone if the store
   * refused it (a board whose claim was lost).
   */
  #append(event: NewEvent): Promise<void> {
    const written = new Promise<void>((resolve, reject) => {
      this.#queue.push({
        event,
        done: (error) => (error === undefined ? resolve() : reject(error)),
      });
    });
    this.#flushing ??= this.#flush();
    return written;
  }

  async #flush(): Promise<void> {
    // Records of the same tick (boards answering together) join the first batch.
    await Promise.resolve();
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      try {
        const refused = await insertEvents(
          this.#db,
          this.#options,
          batch.map((queued) => queued.event),
        );
        for (const [n, queued] of batch.entries()) queued.done(refused.get(n));
      } catch (error) {
        for (const queued of batch) queued.done(error);
      }
    }
    this.#flushing = undefined;
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
  state?: string | undefined;
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
        state: onboarding ? undefined : "done",
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

/** Events written in one statement at most (a batch holds CSRs and certificates). */
const MAX_BATCH = 256;

/**
 * Appends records (in order) and moves their boards' state, in one statement (one round trip,
 * one commit). A board's state takes each field from the last record that sets it. The event
 * IDs make a retry after a lost COMMIT a no-op instead of second records.
 *
 * A board's own records (not the upload records, which any station writes for the rows of a
 * job it sent) re-check the claim in the same statement: after an outage long enough for this
 * station's heartbeat to expire, another station may have taken the board over, and then this
 * one must stop working on it (ERR_STORE_BOARD_CLAIMED, nothing recorded). A claim released
 * and not taken by anyone is taken back. `board-failed` is recorded either way (the event, not
 * the board's state). The boards' rows are locked first, in device ID order (as a single claim
 * locks one), so the check holds until commit and two batches never wait on each other in a
 * circle.
 *
 * Returns the refusals, by position in `events`.
 */
async function insertEvents(
  on: Queryable,
  options: PgJournalOptions,
  events: NewEvent[],
): Promise<Map<number, StoreError>> {
  const rows = events.map((event, n) => {
    const update = deviceUpdate(event.record, options.onboarding);
    const upload = UPLOAD_RECORDS.has(event.record.type);
    const deviceIds = deviceIdsOf(event.record);
    return {
      n,
      event_id: event.id,
      type: event.record.type,
      device_ids: deviceIds,
      at: event.record.at,
      record: event.json,
      checksum: event.checksum,
      state: update.state ?? null,
      step: update.step ?? null,
      fingerprint: update.fingerprint ?? null,
      onboarding: update.onboarding ?? null,
      moves: Object.keys(update).length > 0,
      upload,
      board: !upload && deviceIds.length > 0,
    };
  });
  const results = await on.query<{ n: number; held: boolean; holder: string | null }>(
    `WITH batch AS (
       SELECT * FROM jsonb_to_recordset($2::jsonb) AS b(n integer, event_id uuid, type text,
         device_ids text[], at timestamptz, record text, checksum text, state text, step text,
         fingerprint text, onboarding text, moves boolean, upload boolean, board boolean)),
     locked AS MATERIALIZED (
       SELECT d.device_id, d.claimed_by FROM devices d
       WHERE d.device_id IN (SELECT unnest(device_ids) FROM batch)
       ORDER BY d.device_id FOR UPDATE),
     checked AS MATERIALIZED (
       SELECT b.n, NOT b.board OR (count(l.device_id) > 0 AND count(l.device_id)
           FILTER (WHERE l.claimed_by IS NOT NULL AND l.claimed_by <> $1) = 0) AS held,
         min(l.claimed_by) FILTER (WHERE l.claimed_by <> $1) AS holder
       FROM batch b LEFT JOIN locked l ON l.device_id = ANY(b.device_ids)
       GROUP BY b.n, b.board),
     e AS (
       INSERT INTO events (event_id, station_id, type, device_ids, at, record, checksum)
       SELECT b.event_id, $1, b.type, b.device_ids, b.at, b.record, b.checksum
       FROM batch b JOIN checked c USING (n)
       WHERE c.held OR b.type = 'board-failed' ORDER BY b.n
       ON CONFLICT (event_id) DO NOTHING),
     moved AS (
       SELECT d.device_id, max(b.at) AS at, bool_or(b.board) AS board,
         bool_and(b.upload) AS upload_only,
         (array_agg(b.state ORDER BY b.n DESC) FILTER (WHERE b.state IS NOT NULL))[1] AS state,
         (array_agg(b.step ORDER BY b.n DESC) FILTER (WHERE b.step IS NOT NULL))[1] AS step,
         (array_agg(b.fingerprint ORDER BY b.n DESC)
           FILTER (WHERE b.fingerprint IS NOT NULL))[1] AS fingerprint,
         (array_agg(b.onboarding ORDER BY b.n DESC)
           FILTER (WHERE b.onboarding IS NOT NULL))[1] AS onboarding
       FROM batch b JOIN checked c USING (n) CROSS JOIN unnest(b.device_ids) AS d(device_id)
       WHERE c.held AND (b.moves OR b.board)
       GROUP BY d.device_id),
     u AS (
       UPDATE devices SET
         claimed_by = CASE WHEN moved.board THEN $1 ELSE devices.claimed_by END,
         claimed_at = CASE WHEN moved.board AND devices.claimed_by IS NULL THEN now()
           ELSE devices.claimed_at END,
         station_id = CASE WHEN moved.upload_only THEN devices.station_id ELSE $1 END,
         updated_at = moved.at,
         state = COALESCE(moved.state, devices.state), step = COALESCE(moved.step, devices.step),
         expected_fingerprint = COALESCE(moved.fingerprint, devices.expected_fingerprint),
         onboarding = COALESCE(moved.onboarding, devices.onboarding)
       FROM moved WHERE devices.device_id = moved.device_id)
     SELECT n, held, holder FROM checked`,
    [options.stationId, JSON.stringify(rows)],
  );
  const refused = new Map<number, StoreError>();
  for (const { n, held, holder } of results) {
    const event = events[n]!;
    if (held || event.record.type === "board-failed") continue;
    const deviceId = deviceIdsOf(event.record)[0]!;
    refused.set(n, claimLost(deviceId, holder ?? "(another station)", options.stationId));
  }
  return refused;
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
