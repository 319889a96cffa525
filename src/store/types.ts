import type { CertificateAuthority } from "../ca/index.js";
import type { StationJournal } from "../pipeline/journal.js";
import type { LineUploadQueue } from "../pipeline/line-uploads.js";

export interface StationStoreOptions {
  /** The station's name on the line (unique among running stations). */
  stationId: string;
  /** The station's own journal file. */
  journalPath: string;
  /** Opens the CA the station issues with (after the journal: a journal in use fails first). */
  openCa: () => Promise<CertificateAuthority>;
  /** Boards are onboarded on nRF Cloud (a board is done once onboarded, not once provisioned). */
  onboarding: boolean;
}

/** What one running station records into: its journal, and its CA with the store's ledger. */
export interface StationStore {
  readonly journal: StationJournal;
  readonly ca: CertificateAuthority;
  /** The line's onboarding queue, shared by its stations (PostgreSQL only). */
  readonly uploads?: LineUploadQueue;
  /** Closes the CA and the journal (and says the station stopped). */
  close(): Promise<void>;
}

/**
 * Where the CA ledger and the station journal live: files on the station PC (the default, one
 * machine), or the line's PostgreSQL shared by every station.
 */
export interface ProvisionStore {
  readonly kind: "file" | "postgres";
  /** Where it is, for messages (a path, or the URL without its password). */
  readonly location: string;
  openStation(options: StationStoreOptions): Promise<StationStore>;
  close(): Promise<void>;
}
