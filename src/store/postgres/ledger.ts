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

  async append(entry: LedgerEntry): Promise<void> {
    const rows = await this.#db.query<{ outcome: string; fingerprint: string | null }>(
      `WITH refused AS (
         SELECT 1 FROM stations s WHERE s.revoked AND (s.id = $2 OR s.issuer_fingerprint = $1)),
       inserted AS (
         INSERT INTO certificates (issuer_fingerprint, serial_number, device_id, sha256_fingerprint,
           not_before, not_after, issued_at, station_id, source, pem)
         SELECT $1, $3, $4, $5, $6, $7, $8, $2, $9, $10 WHERE NOT EXISTS (SELECT 1 FROM refused)
         ON CONFLICT (issuer_fingerprint, serial_number) DO NOTHING RETURNING 1)
       SELECT CASE WHEN EXISTS (SELECT 1 FROM refused) THEN 'revoked'
                   WHEN EXISTS (SELECT 1 FROM inserted) THEN 'inserted' ELSE 'exists' END AS outcome,
              (SELECT sha256_fingerprint FROM certificates
                WHERE issuer_fingerprint = $1 AND serial_number = $3) AS fingerprint`,
      [
        this.#issuerFingerprint,
        this.#stationId,
        entry.serialNumber,
        entry.deviceId,
        entry.sha256Fingerprint,
        entry.notBefore,
        entry.notAfter,
        entry.issuedAt,
        entry.source,
        entry.pem,
      ],
    );
    const { outcome, fingerprint } = rows[0] ?? { outcome: "exists", fingerprint: null };
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
       ORDER BY issued_at, serial_number`,
      [query.deviceId ?? null, query.serialNumber ?? null],
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
