import { type FileHandle, mkdir, open, readFile, realpath, truncate } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { crc32 } from "node:zlib";
import { acquireFileLock, FileLockedError } from "../file-lock/index.js";
import { PipelineError } from "./errors.js";

/**
 * One fact in the station journal. A record is written (and fsynced) before the step it
 * records counts as done, so after a crash the journal never claims more than happened; it may
 * claim less (the step ran but its record was not written yet), and the resume logic checks
 * the modem, the CA ledger and nRF Cloud for exactly those cases.
 */
export type JournalFact =
  | { type: "station-start"; pid: number }
  | { type: "identity"; port: string; imei: string; deviceUuid: string; deviceId: string }
  /** About to take the board offline; `modeBefore` is what to restore (kept across crashes). */
  | { type: "offline"; deviceId: string; modeBefore: number }
  | { type: "mode-restored"; deviceId: string }
  /** About to run KEYGEN: from here until keygen-done the modem's key is unknown. */
  | { type: "keygen-start"; deviceId: string; secTag: number }
  /** KEYGEN answered: the CSR (for the key now in the modem) is kept before anything else. */
  | { type: "keygen-done"; deviceId: string; secTag: number; csrPem: string; publicKeyPem: string }
  /** The CA issued (and ledgered) this certificate; written before it goes to the modem. */
  | {
      type: "issued";
      deviceId: string;
      serialNumber: string;
      sha256Fingerprint: string;
      certificatePem: string;
    }
  /**
   * Root CA, certificate and key are on the modem and their hashes verified; the certificate
   * verified is the one with this fingerprint (what recovery uploads for a board not plugged in).
   */
  | {
      type: "provisioned";
      deviceId: string;
      imei: string;
      port: string;
      secTag: number;
      sha256Fingerprint: string;
    }
  | {
      type: "board-failed";
      port: string;
      imei?: string;
      deviceId?: string;
      step: string;
      code: string;
      message: string;
    }
  /** About to upload these devices (single or batch): after a crash, check before re-uploading. */
  | { type: "onboard-start"; deviceIds: string[]; sha256Fingerprints: string[] }
  | { type: "bulk-submitted"; bulkOpsRequestId: string; deviceIds: string[] }
  /** nRF Cloud accepted the device with the certificate of this fingerprint. */
  | {
      type: "onboarded";
      deviceId: string;
      sha256Fingerprint: string;
      bulkOpsRequestId?: string | undefined;
    }
  | { type: "onboard-failed"; deviceId: string; code: string; message: string };

export type JournalRecord = JournalFact & { at: string };

/** What the journal knows about one device, folded from its records in order. */
export interface DeviceHistory {
  deviceId: string;
  imei?: string;
  /** The board was taken offline and not put back yet: its mode before the first attempt. */
  modeToRestore?: number;
  /** KEYGEN was sent and no answer was recorded: the modem may hold a key nobody has a CSR for. */
  keygenInFlight: boolean;
  /** The CSR of the key the modem holds, when the last KEYGEN's answer was recorded. */
  keygen?: { secTag: number; csrPem: string; publicKeyPem: string };
  /** The last certificate issued for the device. */
  certificate?: { pem: string; serialNumber: string; sha256Fingerprint: string };
  /** The fingerprint of the certificate last verified on the modem (undefined: not provisioned). */
  provisioned?: { sha256Fingerprint: string; port: string; secTag: number };
  onboarding: {
    state: "not-started" | "in-flight" | "submitted" | "succeeded" | "failed";
    bulkOpsRequestId?: string;
    /** The certificate uploaded (in-flight, submitted) or accepted (succeeded). */
    sha256Fingerprint?: string | undefined;
    message?: string;
  };
}

/** Where the pipeline records and recalls per-device facts (a Journal, or nothing on a bench). */
export interface ProvisionJournal {
  recall(deviceId: string): DeviceHistory | undefined;
  record(fact: JournalFact): Promise<void>;
}

/** What the station needs of a journal beyond the pipeline's recall/record. */
export interface StationJournal extends ProvisionJournal {
  readonly path: string;
  readonly records: readonly JournalRecord[];
  histories(): DeviceHistory[];
}

/**
 * The station's append-only JSONL journal: one record per line, `<JSON>\t<crc32 of JSON, 8 hex>`
 * as in the CA ledger, so an edited or damaged record is found instead of acted upon.
 *
 * Appends from concurrent boards are grouped: whatever is queued while one write + fsync runs
 * goes out in the next one, so N boards cost about one fsync per round, not N.
 */
export class Journal implements StationJournal {
  private readonly devices = new Map<string, DeviceHistory>();
  private readonly allRecords: JournalRecord[] = [];
  private queue: Array<{ line: string; done: (error?: unknown) => void }> = [];
  private flushing: Promise<void> | undefined;

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
    private readonly clock: () => number,
    private readonly unlock: () => Promise<void>,
  ) {}

  /**
   * Opens (or creates) the journal at `path` and replays it. A torn last line (the process was
   * killed mid-append, before the fsync returned) is cut off: that record never counted.
   * A complete line that fails its checksum is refused (ERR_PROVISION_JOURNAL_CORRUPT).
   * The journal is this station's alone until close(): `<real path>.lock` names the holder, and
   * a second station on the same file (by any name: symlinks are resolved) is refused
   * (ERR_PROVISION_JOURNAL_IN_USE) instead of interleaving its records or cutting off what it
   * takes for a torn line.
   */
  static async open(path: string, options: { clock?: () => number } = {}): Promise<Journal> {
    await mkdir(dirname(path), { recursive: true });
    const unlock = await lockJournal(path, await realPathOf(path));
    try {
      const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return "";
        throw error;
      });
      const complete = text.slice(0, text.lastIndexOf("\n") + 1);
      if (complete.length !== text.length) await truncate(path, Buffer.byteLength(complete));
      const records = parseJournalText(complete, path);
      const journal = new Journal(path, await open(path, "a"), options.clock ?? Date.now, unlock);
      for (const record of records) journal.apply(record);
      return journal;
    } catch (error) {
      await unlock();
      throw error;
    }
  }

  /** Every record, oldest first (replayed ones and those appended since). */
  get records(): readonly JournalRecord[] {
    return this.allRecords;
  }

  recall(deviceId: string): DeviceHistory | undefined {
    return this.devices.get(deviceId);
  }

  /** Every device the journal has seen, in first-seen order. */
  histories(): DeviceHistory[] {
    return [...this.devices.values()];
  }

  /** Appends a record; resolves once it is on disk (fsync). */
  record(fact: JournalFact): Promise<void> {
    const record = { ...fact, at: new Date(this.clock()).toISOString() } as JournalRecord;
    const written = new Promise<void>((resolve, reject) => {
      this.queue.push({
        line: formatRecord(record),
        done: (error) => (error === undefined ? resolve() : reject(error)),
      });
    });
    this.flushing ??= this.flush();
    // The in-memory view changes only once the record is durable.
    return written.then(() => this.apply(record));
  }

  async close(): Promise<void> {
    try {
      await this.flushing;
      await this.file.close();
    } finally {
      await this.unlock();
    }
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.file.write(batch.map((entry) => entry.line).join(""));
        await this.file.sync();
        for (const entry of batch) entry.done();
      } catch (error) {
        const failure = new PipelineError(
          "ERR_PROVISION_JOURNAL",
          `cannot write the station journal ${this.path}: ${(error as Error).message}; check the disk and the file's permissions`,
          { cause: error, details: { path: this.path } },
        );
        for (const entry of batch) entry.done(failure);
      }
    }
    this.flushing = undefined;
  }

  private apply(record: JournalRecord): void {
    this.allRecords.push(record);
    applyJournalRecord(this.devices, record);
  }
}

/** Folds `record` into the per-device histories (what replaying a journal does, one record). */
export function applyJournalRecord(
  devices: Map<string, DeviceHistory>,
  record: JournalRecord,
): void {
  for (const deviceId of deviceIdsOf(record)) {
    const history = devices.get(deviceId) ?? emptyHistory(deviceId);
    devices.set(deviceId, foldRecord(history, record));
  }
}

/** The journal's path with every symlink resolved (the file itself may not exist yet). */
async function realPathOf(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    return join(await realpath(dirname(path)), basename(path));
  }
}

async function lockJournal(path: string, realPath: string): Promise<() => Promise<void>> {
  try {
    // A lock left by a killed station on this host is broken; a live holder is not waited for.
    return await acquireFileLock(`${realPath}.lock`, { timeoutMs: 200 });
  } catch (error) {
    if (!(error instanceof FileLockedError)) throw error;
    const { holder, lockPath } = error;
    throw new PipelineError(
      "ERR_PROVISION_JOURNAL_IN_USE",
      `the station journal ${path} is in use by ${holder ? `process ${holder.pid} on ${holder.host}` : "another process"}: each station needs its own --journal. If no station is running on it, delete ${lockPath}.`,
      { cause: error, details: { path, lockPath, pid: holder?.pid, host: holder?.host } },
    );
  }
}

function formatRecord(record: JournalRecord): string {
  const json = JSON.stringify(record);
  return `${json}\t${recordChecksum(json)}\n`;
}

/** The journal's checksum of a record's JSON (CRC-32, 8 hex digits); the shared store keeps it too. */
export function recordChecksum(json: string): string {
  return crc32(json).toString(16).padStart(8, "0");
}

/**
 * The records of complete journal text (every line ends in LF). A line whose checksum fails
 * stops everything: acting on an edited certificate or device ID could upload what neither
 * the modem nor the CA ledger holds.
 */
export function parseJournalText(text: string, path: string): JournalRecord[] {
  const records: JournalRecord[] = [];
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (line === "") continue;
    records.push(parseRecord(line, path, index + 1));
  }
  return records;
}

function parseRecord(line: string, path: string, lineNumber: number): JournalRecord {
  const tab = line.lastIndexOf("\t");
  const json = tab < 0 ? line : line.slice(0, tab);
  const intact = tab >= 0 && recordChecksum(json) === line.slice(tab + 1);
  let record: JournalRecord | undefined;
  try {
    record = intact ? (JSON.parse(json) as JournalRecord) : undefined;
  } catch {
    // reported below
  }
  if (record !== undefined && typeof record?.type === "string") return record;
  const why = intact
    ? "is not a journal record"
    : tab < 0
      ? "has no checksum (was it edited, or written by an older nrf-provision?)"
      : "fails its checksum (it was edited or damaged)";
  throw new PipelineError(
    "ERR_PROVISION_JOURNAL_CORRUPT",
    `the station journal ${path}: line ${lineNumber} ${why}; nothing was done from it. Restore the journal from a backup, or move it aside and run again (boards plugged in are checked on the modem against the CA ledger)`,
    { details: { path, line: lineNumber } },
  );
}

/** The devices a record is about (none for station-start; many for a batch upload). */
export function deviceIdsOf(record: JournalRecord): string[] {
  switch (record.type) {
    case "station-start":
      return [];
    case "onboard-start":
    case "bulk-submitted":
      return record.deviceIds;
    case "board-failed":
      return record.deviceId === undefined ? [] : [record.deviceId];
    default:
      return [record.deviceId];
  }
}

function emptyHistory(deviceId: string): DeviceHistory {
  return {
    deviceId,
    keygenInFlight: false,
    onboarding: { state: "not-started" },
  };
}

function foldRecord(history: DeviceHistory, record: JournalRecord): DeviceHistory {
  switch (record.type) {
    case "identity":
      return { ...history, imei: record.imei };
    case "offline":
      return { ...history, modeToRestore: history.modeToRestore ?? record.modeBefore };
    case "mode-restored": {
      const { modeToRestore: _restored, ...rest } = history;
      return rest;
    }
    case "keygen-start": {
      // A new key replaces the old one: its CSR, certificate and credentials no longer apply.
      const { keygen: _old, certificate: _cert, provisioned: _done, ...rest } = history;
      return { ...rest, keygenInFlight: true };
    }
    case "keygen-done":
      return {
        ...history,
        keygenInFlight: false,
        keygen: { secTag: record.secTag, csrPem: record.csrPem, publicKeyPem: record.publicKeyPem },
      };
    case "issued":
      return {
        ...history,
        certificate: {
          pem: record.certificatePem,
          serialNumber: record.serialNumber,
          sha256Fingerprint: record.sha256Fingerprint,
        },
      };
    case "provisioned":
      return {
        ...history,
        provisioned: {
          sha256Fingerprint: record.sha256Fingerprint,
          port: record.port,
          secTag: record.secTag,
        },
      };
    case "onboard-start": {
      const sha256Fingerprint =
        record.sha256Fingerprints[record.deviceIds.indexOf(history.deviceId)];
      return {
        ...history,
        onboarding: {
          state: "in-flight",
          sha256Fingerprint,
        },
      };
    }
    case "bulk-submitted": {
      const { sha256Fingerprint } = history.onboarding;
      return {
        ...history,
        onboarding: {
          state: "submitted",
          bulkOpsRequestId: record.bulkOpsRequestId,
          sha256Fingerprint,
        },
      };
    }
    case "onboarded":
      return {
        ...history,
        onboarding: { state: "succeeded", sha256Fingerprint: record.sha256Fingerprint },
      };
    case "onboard-failed":
      return { ...history, onboarding: { state: "failed", message: record.message } };
    default:
      return history;
  }
}
