import type { CertificateAuthority } from "../../ca/index.js";
import type { LineStatus } from "../../line/status.js";
import { Journal } from "../../pipeline/journal.js";
import { StoreError } from "../errors.js";
import type { ProvisionStore, StationStore, StationStoreOptions } from "../types.js";
import { Database, type DatabaseOptions, redactUrl } from "./database.js";
import { PgJournal } from "./journal.js";
import { PgLedger } from "./ledger.js";
import { type ExportedDevice, exportDevices, readLineStatus } from "./line.js";
import { checkSchema, type Migration, migrate, type SchemaState } from "./migrate.js";
import {
  lineTiming,
  registerStation,
  revokeStation,
  type StationIdentity,
  startHeartbeat,
  stopStation,
  thisHost,
} from "./stations.js";
import { PgUploadQueue } from "./uploads.js";

function stationIdentity(id: string, ca: CertificateAuthority): StationIdentity {
  return {
    id,
    host: thisHost(),
    pid: process.pid,
    issuer: {
      certificatePem: ca.info.certificatePem,
      sha256Fingerprint: ca.info.sha256Fingerprint,
      serialNumber: ca.info.serialNumber,
    },
  };
}

export interface PgStoreOptions extends DatabaseOptions {
  /** A station silent for this long is dead and its boards free for others (30 s). */
  claimTimeoutMs?: number;
}

/** The line's shared store in PostgreSQL (see migrations/ for the tables). */
export class PgStore implements ProvisionStore {
  readonly kind = "postgres";
  readonly location: string;
  readonly db: Database;
  readonly #options: PgStoreOptions;

  constructor(url: string, options: PgStoreOptions = {}) {
    this.location = redactUrl(url);
    this.db = new Database(url, options);
    this.#options = options;
  }

  get timing() {
    return lineTiming(this.#options.claimTimeoutMs);
  }

  /**
   * Registers the station (refused if one with its ID runs elsewhere), starts its heartbeat,
   * and opens its journal in the store with the station's journal file as a local copy. The
   * CA it returns records into the line's ledger.
   */
  async openStation(options: StationStoreOptions): Promise<StationStore> {
    await this.#requireSchema();
    const localCopy = await Journal.open(options.journalPath);
    const opened: Array<() => Promise<void> | void> = [() => localCopy.close()];
    const closeAll = async () => {
      for (const close of opened.reverse()) await Promise.resolve(close()).catch(() => {});
    };
    try {
      const fileCa = await options.openCa();
      opened.push(() => fileCa.close());
      const station = stationIdentity(options.stationId, fileCa);
      await registerStation(this.db, station, this.timing);
      opened.push(() => stopStation(this.db, station.id));
      opened.push(startHeartbeat(this.db, station.id, this.timing));
      const journal = await PgJournal.open(this.db, {
        stationId: station.id,
        timing: this.timing,
        onboarding: options.onboarding,
        path: `${localCopy.path} (shared: ${this.location}, station ${station.id})`,
        localCopy,
      });
      const ledger = await PgLedger.open(this.db, station.id, fileCa.info.sha256Fingerprint);
      const uploads = new PgUploadQueue(this.db, station.id, this.timing);
      return { journal, ca: { ...fileCa, ledger }, uploads, close: closeAll };
    } catch (error) {
      await closeAll();
      throw error;
    }
  }

  checkSchema(): Promise<SchemaState> {
    return checkSchema(this.db);
  }

  migrate(): Promise<Migration[]> {
    return migrate(this.db);
  }

  async readLineStatus(): Promise<LineStatus> {
    await this.#requireSchema();
    return readLineStatus(this.db, { claimTimeoutMs: this.timing.claimTimeoutMs });
  }

  async exportDevices(since?: Date): Promise<ExportedDevice[]> {
    await this.#requireSchema();
    return exportDevices(this.db, since);
  }

  async revokeStation(stationId: string): Promise<{ issuerFingerprint: string | null }> {
    await this.#requireSchema();
    return revokeStation(this.db, stationId);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  async #requireSchema(): Promise<void> {
    const state = await checkSchema(this.db);
    if (state.current) return;
    throw new StoreError(
      "ERR_STORE_SCHEMA",
      `The line's database ${this.location} lacks migration(s) ${state.pending.map((m) => m.name).join(", ")}. Run "nrf-provision line db migrate --store URL" once (stations stopped), then run again.`,
      { details: { pending: state.pending.map((m) => m.version) } },
    );
  }
}
