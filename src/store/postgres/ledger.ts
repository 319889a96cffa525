import { CaError } from "../../ca/errors.js";
import type { CaLedger, LedgerEntry, LedgerQuery } from "../../ca/index.js";
import { StoreError } from "../errors.js";
import type { Database } from "./database.js";

interface CertificateRow {
  serial_number: string;
  device_id: string;
  sha256_fingerprint: string;
  not_before: Date;
  not_after: Date;
  issued_at: Date;
  source: string;
  pem: string;
}

/** Entries written in one statement at most. */
const MAX_BATCH = 256;

interface Outcome {
  outcome: "inserted" | "exists" | "revoked";
  /** The fingerprint already recorded under the serial ("exists"). */
  fingerprint: string | null;
}

/**
 * The line's CA ledger (`certificates`): serials unique per issuer, each certificate with the
 * station that issued it. Before recording, the station's issuer is checked against the
 * revocations in the store (`ca revoke-station`), in the same statement: a revoked station's
 * later certificates are refused line-wide and never handed out.
 */
export class PgLedger implements CaLedger {
  readonly #db: Database;
  readonly #stationId: string;
  readonly #issuerFingerprint: string;
  #known: number;
  #queue: Array<{
    entry: LedgerEntry;
    resolve: (outcome: Outcome) => void;
    reject: (error: unknown) => void;
  }> = [];
  #flushing: Promise<void> | undefined;

  private constructor(db: Database, stationId: string, issuerFingerprint: string, known: number) {
    this.#db = db;
    this.#stationId = stationId;
    this.#issuerFingerprint = issuerFingerprint;
    this.#known = known;
  }

  static async open(db: Database, stationId: string, issuerFingerprint: string): Promise<PgLedger> {
    const [row] = await db.query<{ count: string }>(
      "SELECT count(*) AS count FROM certificates WHERE issuer_fingerprint = $1",
      [issuerFingerprint],
    );
    return new PgLedger(db, stationId, issuerFingerprint, Number(row?.count ?? 0));
  }

  get knownCount(): number {
    return this.#known;
  }

  /**
   * Records one certificate; resolves once it is committed. Entries of boards issued at once
   * are grouped as the journal groups its records: what is appended while one statement runs
   * goes out in the next (one round trip, one commit), each entry with its own outcome.
   */
  append(entry: LedgerEntry): Promise<void> {
    const recorded = new Promise<Outcome>((resolve, reject) => {
      this.#queue.push({ entry, resolve, reject });
    });
    this.#flushing ??= this.#flush();
    return recorded.then((outcome) => this.#settle(entry, outcome));
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      try {
        const outcomes = await this.#insert(batch.map((queued) => queued.entry));
        for (const [n, queued] of batch.entries()) {
          queued.resolve(outcomes[n] ?? { outcome: "exists", fingerprint: null });
        }
      } catch (error) {
        for (const queued of batch) queued.reject(error);
      }
    }
    this.#flushing = undefined;
  }

  async #insert(entries: LedgerEntry[]): Promise<Outcome[]> {
    const rows = entries.map((entry, n) => ({
      n,
      serial_number: entry.serialNumber,
      device_id: entry.deviceId,
      sha256_fingerprint: entry.sha256Fingerprint,
      not_before: entry.notBefore,
      not_after: entry.notAfter,
      issued_at: entry.issuedAt,
      source: entry.source,
      pem: entry.pem,
    }));
    const outcomes = await this.#db.query<Outcome & { n: number }>(
      `WITH batch AS (
         SELECT * FROM jsonb_to_recordset($3::jsonb) AS b(n integer, serial_number text,
           device_id text, sha256_fingerprint text, not_before timestamptz, not_after timestamptz,
           issued_at timestamptz, source text, pem text)),
       refused AS (
         SELECT 1 FROM stations s WHERE s.revoked AND (s.id = $2 OR s.issuer_fingerprint = $1)),
       inserted AS (
         INSERT INTO certificates (issuer_fingerprint, serial_number, device_id, sha256_fingerprint,
           not_before, not_after, issued_at, station_id, source, pem)
         SELECT $1, serial_number, device_id, sha256_fingerprint, not_before, not_after, issued_at,
           $2, source, pem FROM batch WHERE NOT EXISTS (SELECT 1 FROM refused) ORDER BY n
         ON CONFLICT (issuer_fingerprint, serial_number) DO NOTHING
         RETURNING serial_number, sha256_fingerprint)
       SELECT b.n,
         CASE WHEN EXISTS (SELECT 1 FROM refused) THEN 'revoked'
              WHEN EXISTS (SELECT 1 FROM inserted i WHERE i.serial_number = b.serial_number
                AND i.sha256_fingerprint = b.sha256_fingerprint) THEN 'inserted'
              ELSE 'exists' END AS outcome,
         (SELECT c.sha256_fingerprint FROM certificates c
           WHERE c.issuer_fingerprint = $1 AND c.serial_number = b.serial_number) AS fingerprint
       FROM batch b ORDER BY b.n`,
      [this.#issuerFingerprint, this.#stationId, JSON.stringify(rows)],
    );
    return outcomes;
  }

  #settle(entry: LedgerEntry, { outcome, fingerprint }: Outcome): void {
    if (outcome === "revoked") throw revoked(this.#stationId, entry);
    // "exists" with our own fingerprint: a retry after a lost COMMIT found its first attempt.
    if (outcome === "exists" && fingerprint !== entry.sha256Fingerprint) {
      throw new CaError(
        "ERR_LEDGER_DUPLICATE_SERIAL",
        `Serial number ${entry.serialNumber} (device ${entry.deviceId}) is already in the line's ledger for this CA; a serial is never reused. Issue the certificate again.`,
        { details: { serialNumber: entry.serialNumber, deviceId: entry.deviceId } },
      );
    }
    if (outcome === "inserted") this.#known++;
  }

  /** Certificates of the whole line (every issuer) matching `query`, oldest first. */
  async find(query: LedgerQuery = {}): Promise<LedgerEntry[]> {
    const rows = await this.#db.query<CertificateRow>(
      `SELECT serial_number, device_id, sha256_fingerprint, not_before, not_after, issued_at, source, pem
       FROM certificates WHERE ($1::text IS NULL OR device_id = $1) AND ($2::text IS NULL OR serial_number = $2)
         AND ($3::text[] IS NULL OR sha256_fingerprint = ANY($3))
       ORDER BY issued_at, serial_number`,
      [query.deviceId ?? null, query.serialNumber ?? null, query.sha256Fingerprints ?? null],
    );
    return rows.map((row) => ({
      serialNumber: row.serial_number,
      deviceId: row.device_id,
      sha256Fingerprint: row.sha256_fingerprint,
      notBefore: row.not_before.toISOString(),
      notAfter: row.not_after.toISOString(),
      issuedAt: row.issued_at.toISOString(),
      source: row.source,
      pem: row.pem,
    }));
  }
}

function revoked(stationId: string, entry: LedgerEntry): StoreError {
  return new StoreError(
    "ERR_STORE_STATION_REVOKED",
    `Station ${stationId} is revoked on this line (ca revoke-station): its CA may not issue. No certificate was handed out to ${entry.deviceId}. Give the station a new intermediate (ca delegate) and a new --station-id.`,
    { details: { stationId, deviceId: entry.deviceId, serialNumber: entry.serialNumber } },
  );
}
