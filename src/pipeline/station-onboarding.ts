import { createHash, X509Certificate } from "node:crypto";
import type { LedgerEntry, LedgerQuery } from "../ca/index.js";
import {
  BulkOpsError,
  type BulkUploadChunk,
  type CloudClient,
  type OnboardingRow,
  type WaitForBulkOpsOptions,
} from "../cloud/index.js";
import { describeError, isNrfProvisionError } from "../errors/index.js";
import { type DeviceResult, waitForDeviceResults } from "./bulk-results.js";
import { crashPoint } from "./crash-point.js";
import { PipelineError } from "./errors.js";
import type { DeviceHistory, StationJournal } from "./journal.js";
import { type LineUploadQueue, LineUploads, type OwnRowResult } from "./line-uploads.js";
import {
  type Onboarder,
  type OnboardingFields,
  type OnboardingOutcome,
  onboardingRowFor,
} from "./onboarder.js";
import { type QueuedRow, type UploadListener, uploadJournaled } from "./upload-journal.js";

/** How the station onboards: every board now, in bulk at the end, or not at all. */
export type StationOnboardMode = "single" | "batch" | "none";

/** The final onboarding state of one device, for the summary and the events. */
export interface OnboardingResult {
  deviceId: string;
  ok: boolean;
  message?: string;
  code?: string;
  bulkOpsRequestId?: string | undefined;
}

/** Where the station finds the certificates the CA issued (the CA's ledger). */
export interface CertificateLedger {
  find(query?: LedgerQuery): Promise<LedgerEntry[]>;
}

export interface StationOnboardingOptions {
  mode: StationOnboardMode;
  journal: StationJournal;
  /** The CA ledger: recovery uploads only certificates found in it. */
  ledger: CertificateLedger;
  cloud?: CloudClient | undefined;
  /** Rows per OnboardDevices request (nRF Cloud's limit, 1000, by default). */
  batchSize?: number | undefined;
  bulkWait?: WaitForBulkOpsOptions | undefined;
  /** subType, tags, fwTypes for rows rebuilt from the journal. */
  rowFields?: OnboardingFields | undefined;
  /**
   * Once resolved, waits for bulk jobs stop (the journal keeps them as submitted) and nothing
   * more is uploaded: left to the next run.
   */
  interrupted?: Promise<void> | undefined;
  onResult?: (result: OnboardingResult) => void;
  onUpload?: UploadListener;
  /**
   * The line's shared upload queue (PostgreSQL store): with `batch`, rows go there and bulk
   * jobs carry the rows of every station (see LineUploads).
   */
  lineQueue?: LineUploadQueue | undefined;
}

/** A device the station cannot vouch for (see StationOnboarding.unverified). */
export interface UnverifiedDevice {
  deviceId: string;
  step: "provision" | "onboard";
  code: string;
  message: string;
}

/**
 * Onboarding for the station, decided from facts across crashes and restarts.
 *
 * A device counts as onboarded only when nRF Cloud confirmed the very certificate its modem
 * holds: a single OnboardDevice answered 202, or the bulk job's result has no error for its
 * row. The journal records that with the certificate's fingerprint. FetchDevice does not
 * return the certificate, so "the device exists" proves nothing; where the outcome of an upload
 * is unknown (killed before its answer was journaled), the row is submitted again, which nRF
 * Cloud accepts for the same certificate and refuses for a different one.
 *
 * Every upload is journaled before it is sent ("onboard-start"), its bulk job ID as soon as
 * nRF Cloud accepted it ("bulk-submitted"), and each device's result after the job ended.
 */
export class StationOnboarding implements Onboarder {
  private readonly pending: QueuedRow[] = [];
  /** `<deviceId> <fingerprint>` queued or uploaded in this run: each goes out once per run. */
  private readonly claimed = new Set<string>();
  private readonly uploads = new Set<Promise<void>>();
  private readonly batchSize: number;
  private readonly stopWaiting = new AbortController();
  /** Batch onboarding through the line's queue, when the station is on a line. */
  private readonly line: LineUploads | undefined;

  constructor(private readonly options: StationOnboardingOptions) {
    this.batchSize = options.batchSize ?? 1000;
    if (options.mode !== "none" && options.cloud === undefined) {
      throw new TypeError(`--onboard ${options.mode} needs a cloud client`);
    }
    options.interrupted?.then(() => this.stopWaiting.abort());
    if (options.mode === "batch" && options.lineQueue !== undefined) {
      this.line = new LineUploads({
        queue: options.lineQueue,
        journal: options.journal,
        cloud: options.cloud!,
        batchSize: this.batchSize,
        bulkWait: options.bulkWait,
        stop: this.stopWaiting.signal,
        report: (result) => this.reportLineResult(result),
        onUpload: options.onUpload,
      });
    }
  }

  async onboard(row: OnboardingRow): Promise<OnboardingOutcome> {
    const { mode } = this.options;
    if (mode === "none") return { mode: "none" };
    const fingerprint = certificateFingerprint(row.certificate);
    if (this.confirmed(row.deviceId, fingerprint)) return { mode, status: "already-onboarded" };
    if (mode === "single") {
      await this.onboardNow({ row, fingerprint });
      return { mode, status: "onboarded" };
    }
    await this.enqueue({ row, fingerprint });
    return { mode, status: "queued" };
  }

  /**
   * Finishes what an earlier run left; call before any board runs. For every device the
   * journal saw verified on its modem, the certificate to upload is the CA ledger's entry with
   * the fingerprint verified there; a device without a confirmed upload of exactly that
   * certificate is uploaded again (after any job that may carry it has ended). Returns how many
   * devices it took up again.
   */
  async recover(): Promise<number> {
    const { mode, journal } = this.options;
    if (mode === "none") return 0;
    const unconfirmed = journal
      .histories()
      .filter((h) => h.provisioned !== undefined)
      .filter((h) => !this.confirmed(h.deviceId, h.provisioned!.sha256Fingerprint));
    if (this.line !== undefined) return this.recoverOnLine(unconfirmed, this.line);
    if (unconfirmed.length === 0) return 0;

    await this.awaitSubmittedJobs(unconfirmed.filter((h) => h.onboarding.state === "submitted"));
    // An upload sent without its answer journaled (or answered 5xx) may have made a job: let
    // running jobs end, so the re-submission below sees their result instead of racing them.
    const outcomeUnknown = ["in-flight", "failed"];
    if (unconfirmed.some((h) => outcomeUnknown.includes(h.onboarding.state))) {
      await this.awaitRunningJobs();
    }

    if (this.stopped) return 0; // interrupted while waiting: nothing new is sent
    const ledger = await ledgerByFingerprint(
      this.options.ledger,
      unconfirmed.flatMap((h) => journal.recall(h.deviceId)?.provisioned?.sha256Fingerprint ?? []),
    );
    let taken = 0;
    for (const history of unconfirmed) {
      const { deviceId } = history;
      const now = journal.recall(deviceId);
      const fingerprint = now?.provisioned?.sha256Fingerprint;
      if (fingerprint === undefined || this.confirmed(deviceId, fingerprint)) continue;
      // Its job is still running (the wait was cut short): the next run waits for it again.
      if (now?.onboarding.state === "submitted") continue;
      const entry = ledger.get(fingerprint);
      if (entry === undefined || entry.deviceId !== deviceId) {
        await this.recordFailure(deviceId, notInLedger(deviceId, fingerprint));
        continue;
      }
      taken++;
      const queued = {
        row: onboardingRowFor(deviceId, entry.pem, this.options.rowFields),
        fingerprint,
      };
      if (mode === "single") await this.onboardNow(queued).catch(() => {});
      else await this.enqueue(queued);
    }
    return taken;
  }

  /**
   * On a line, the queue knows each row's state line-wide: the unconfirmed devices' rows are
   * enqueued again (a row already there, pending or in a job, is left as it is; a failed one
   * is pending again), and the jobs dead stations left are finished.
   */
  private async recoverOnLine(unconfirmed: DeviceHistory[], line: LineUploads): Promise<number> {
    if (this.stopped) return 0;
    const ledger = await ledgerByFingerprint(
      this.options.ledger,
      unconfirmed.map((h) => h.provisioned!.sha256Fingerprint),
    );
    const rows: QueuedRow[] = [];
    for (const { deviceId, provisioned } of unconfirmed) {
      const fingerprint = provisioned!.sha256Fingerprint;
      const entry = ledger.get(fingerprint);
      if (entry === undefined || entry.deviceId !== deviceId) {
        await this.recordFailure(deviceId, notInLedger(deviceId, fingerprint));
        continue;
      }
      this.claimed.add(`${deviceId} ${fingerprint}`);
      rows.push({
        row: onboardingRowFor(deviceId, entry.pem, this.options.rowFields),
        fingerprint,
      });
    }
    await line.recover(rows);
    return rows.length;
  }

  /**
   * Uploads whatever is still queued and waits for every bulk job to end. Once interrupted,
   * nothing more is sent: the queued devices are journaled as provisioned, and the next run
   * uploads them.
   */
  async finish(): Promise<void> {
    if (this.line !== undefined) return this.line.finish();
    if (this.pending.length > 0 && !this.stopped) this.startUpload(this.pending.splice(0));
    while (this.uploads.size > 0) await Promise.all(this.uploads);
  }

  /**
   * Every device of the journal whose certificate is not verifiably where it belongs: on its
   * modem (a `provisioned` record, for a certificate in the CA ledger) and, unless onboarding
   * is `none`, on nRF Cloud (a confirmed upload of that same certificate). A station whose
   * list is empty has finished every board it ever saw.
   */
  async unverified(): Promise<UnverifiedDevice[]> {
    const { mode, journal } = this.options;
    const histories = journal.histories();
    const ledger = await ledgerByFingerprint(
      this.options.ledger,
      histories.flatMap((h) => h.provisioned?.sha256Fingerprint ?? []),
    );
    const found: UnverifiedDevice[] = [];
    for (const history of histories) {
      const { deviceId, provisioned } = history;
      if (provisioned === undefined) {
        found.push({
          deviceId,
          step: "provision",
          code: "ERR_PROVISION_UNFINISHED",
          message: `${deviceId}${history.imei === undefined ? "" : ` (IMEI ${history.imei})`} is not provisioned: its run was interrupted or failed, and its board was not finished in this run; plug it in and run the station again`,
        });
      } else if (ledger.get(provisioned.sha256Fingerprint)?.deviceId !== deviceId) {
        const error = notInLedger(deviceId, provisioned.sha256Fingerprint);
        found.push({ deviceId, step: "provision", code: error.code, message: error.message });
      } else if (mode !== "none" && !this.confirmed(deviceId, provisioned.sha256Fingerprint)) {
        const { onboarding } = history;
        found.push({
          deviceId,
          step: "onboard",
          code: "ERR_PROVISION_NOT_ONBOARDED",
          message: `nRF Cloud has not confirmed the certificate on the modem of ${deviceId}${onboarding.message === undefined ? "" : ` (last: ${onboarding.message})`}; run the station again to upload it`,
        });
      }
    }
    return found;
  }

  private get stopped(): boolean {
    return this.stopWaiting.signal.aborted;
  }

  /** nRF Cloud confirmed this device with exactly this certificate (journaled). */
  private confirmed(deviceId: string, fingerprint: string): boolean {
    const onboarding = this.options.journal.recall(deviceId)?.onboarding;
    return onboarding?.state === "succeeded" && onboarding.sha256Fingerprint === fingerprint;
  }

  private async enqueue(queued: QueuedRow): Promise<void> {
    const key = `${queued.row.deviceId} ${queued.fingerprint}`;
    if (this.claimed.has(key)) return;
    this.claimed.add(key);
    if (this.line !== undefined) return this.line.add(queued);
    this.pending.push(queued);
    if (this.pending.length >= this.batchSize && !this.stopped) {
      this.startUpload(this.pending.splice(0, this.batchSize));
    }
  }

  private async onboardNow({ row, fingerprint }: QueuedRow): Promise<void> {
    const { journal, cloud } = this.options;
    await journal.record({
      type: "onboard-start",
      deviceIds: [row.deviceId],
      sha256Fingerprints: [fingerprint],
    });
    try {
      await cloud!.onboardDevice(row);
    } catch (error) {
      await this.recordFailure(row.deviceId, error);
      throw error;
    }
    await this.recordSuccess(row.deviceId, fingerprint);
  }

  /** Uploads one chunk in the background; the board that filled it does not wait for the job. */
  private startUpload(rows: QueuedRow[]): void {
    const upload = this.upload(rows).finally(() => this.uploads.delete(upload));
    this.uploads.add(upload);
  }

  private async upload(queued: QueuedRow[]): Promise<void> {
    const { journal, cloud } = this.options;
    const deviceIds = queued.map((q) => q.row.deviceId);
    const fingerprints = new Map(queued.map((q) => [q.row.deviceId, q.fingerprint]));
    try {
      crashPoint("before-batch-upload", deviceIds);
      const chunks = await uploadJournaled(journal, cloud!, queued, this.options.onUpload);
      await Promise.all(chunks.map((chunk) => this.awaitJob(chunk, fingerprints)));
    } catch (error) {
      for (const deviceId of deviceIds) {
        if (!this.confirmed(deviceId, fingerprints.get(deviceId)!)) {
          await this.recordFailure(deviceId, error).catch(() => {});
        }
      }
    }
  }

  /**
   * Waits for one bulk job and journals each of its devices' result. A wait cut short
   * (--wait-timeout, or the station interrupted) decides nothing: the devices stay
   * "submitted" in the journal, and the next run waits for the job again.
   */
  private async awaitJob(
    chunk: BulkUploadChunk,
    fingerprints: ReadonlyMap<string, string | undefined>,
  ): Promise<void> {
    let results: DeviceResult[];
    try {
      results = await waitForDeviceResults(this.options.cloud!, chunk, {
        ...this.options.bulkWait,
        signal: this.stopWaiting.signal,
      });
    } catch (error) {
      for (const deviceId of chunk.deviceIds) {
        this.reportUnfinished(deviceId, error, chunk.bulkOpsRequestId);
      }
      return;
    }
    for (const { deviceId, error } of results) {
      const fingerprint = fingerprints.get(deviceId);
      if (error === undefined && fingerprint !== undefined) {
        await this.recordSuccess(deviceId, fingerprint, chunk.bulkOpsRequestId);
      } else {
        await this.recordFailure(
          deviceId,
          error ??
            new BulkOpsError(
              "ERR_BULK_FAILED",
              `the journal does not say which certificate job ${chunk.bulkOpsRequestId} uploaded for ${deviceId}`,
            ),
          chunk.bulkOpsRequestId,
        );
      }
    }
  }

  /** Jobs journaled as submitted by an earlier run: their results are facts to record. */
  private async awaitSubmittedJobs(histories: DeviceHistory[]): Promise<void> {
    const jobs = new Map<string, string[]>();
    for (const record of this.options.journal.records) {
      if (record.type === "bulk-submitted") jobs.set(record.bulkOpsRequestId, record.deviceIds);
    }
    const wanted = new Set(histories.map((h) => h.onboarding.bulkOpsRequestId));
    const fingerprints = new Map(
      histories.map((h) => [h.deviceId, h.onboarding.sha256Fingerprint]),
    );
    await Promise.all(
      [...jobs]
        .filter(([id]) => wanted.has(id))
        .map(([bulkOpsRequestId, deviceIds]) =>
          this.awaitJob(
            {
              bulkOpsRequestId,
              deviceIds: deviceIds.filter((id) => fingerprints.has(id)),
              firstInputRow: 0,
            },
            fingerprints,
          ).catch(() => {}),
        ),
    );
  }

  /** Waits for the account's onboarding jobs still running (best effort). */
  private async awaitRunningJobs(): Promise<void> {
    const cloud = this.options.cloud!;
    const running = await cloud.listBulkOpsRequests({ pageLimit: 100 }).catch(() => undefined);
    for (const job of running?.items ?? []) {
      if (job.status !== "PENDING" && job.status !== "IN_PROGRESS") continue;
      await cloud
        .waitForBulkOps(job.bulkOpsRequestId, {
          ...this.options.bulkWait,
          signal: this.stopWaiting.signal,
        })
        .catch(() => {});
    }
  }

  private async recordSuccess(
    deviceId: string,
    sha256Fingerprint: string,
    bulkOpsRequestId?: string,
  ): Promise<void> {
    await this.options.journal.record({
      type: "onboarded",
      deviceId,
      sha256Fingerprint,
      bulkOpsRequestId,
    });
    this.options.onResult?.({
      deviceId,
      ok: true,
      bulkOpsRequestId,
    });
  }

  private async recordFailure(
    deviceId: string,
    error: unknown,
    bulkOpsRequestId?: string,
  ): Promise<void> {
    const code = isNrfProvisionError(error) ? error.code : "ERR_CLOUD_UNEXPECTED";
    const message = describeError(error);
    await this.options.journal.record({ type: "onboard-failed", deviceId, code, message });
    this.options.onResult?.({
      deviceId,
      ok: false,
      code,
      message,
      bulkOpsRequestId,
    });
  }

  /** A result of one of this station's rows from the line's queue, journaled and reported. */
  private async reportLineResult(result: OwnRowResult): Promise<void> {
    const { deviceId, fingerprint, error, bulkOpsRequestId } = result;
    if (result.unfinished) {
      this.options.onResult?.({
        deviceId,
        ok: false,
        code: isNrfProvisionError(error) ? error.code : "ERR_BULK_TIMEOUT",
        message: `${describeError(error)}; it is uploaded by the next station to flush the line's queue, and the next run of this station looks again`,
      });
    } else if (error !== undefined) {
      await this.recordFailure(deviceId, error, bulkOpsRequestId);
    } else if (!this.confirmed(deviceId, fingerprint)) {
      await this.recordSuccess(deviceId, fingerprint, bulkOpsRequestId);
    }
  }

  /** Not confirmed, not refused: reported, journaled as it stands (submitted). */
  private reportUnfinished(deviceId: string, error: unknown, bulkOpsRequestId: string): void {
    this.options.onResult?.({
      deviceId,
      ok: false,
      code: isNrfProvisionError(error) ? error.code : "ERR_CLOUD_UNEXPECTED",
      message: `${describeError(error)}; the next run of this station waits for job ${bulkOpsRequestId} again`,
      bulkOpsRequestId,
    });
  }
}

/** SHA-256 of the certificate's DER, lowercase hex (the CA ledger's `sha256Fingerprint`). */
export function certificateFingerprint(pem: string): string {
  return createHash("sha256").update(new X509Certificate(pem).raw).digest("hex");
}

/** The ledger's entries for these certificates (not the whole ledger: it grows with the line). */
async function ledgerByFingerprint(
  ledger: CertificateLedger,
  fingerprints: readonly string[],
): Promise<Map<string, LedgerEntry>> {
  if (fingerprints.length === 0) return new Map();
  const entries = await ledger.find({ sha256Fingerprints: fingerprints });
  return new Map(entries.map((entry) => [entry.sha256Fingerprint, entry]));
}

function notInLedger(deviceId: string, fingerprint: string): PipelineError {
  return new PipelineError(
    "ERR_PROVISION_NOT_IN_LEDGER",
    `the certificate journaled as verified on the modem of ${deviceId} (SHA-256 fingerprint ${fingerprint}) is not in the CA ledger, so nothing was uploaded for it: check --ca-dir, or plug the board in and run again (it is then checked on the modem)`,
    { details: { deviceId, sha256Fingerprint: fingerprint } },
  );
}
