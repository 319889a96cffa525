import type {
  BulkUploadChunk,
  CloudClient,
  OnboardingRow,
  WaitForBulkOpsOptions,
} from "../cloud/index.js";
import { describeError, isNrfProvisionError, NrfProvisionError } from "../errors/index.js";
import type { DeviceHistory, StationJournal } from "./journal.js";
import {
  type Onboarder,
  type OnboardingFields,
  type OnboardingOutcome,
  onboardingRowFor,
} from "./onboarding.js";

/** How the station onboards: every board now, in bulk at the end, or not at all. */
export type StationOnboardMode = "single" | "batch" | "none";

/** The final onboarding state of one device, for the summary and the events. */
export interface OnboardingResult {
  deviceId: string;
  ok: boolean;
  message?: string;
  code?: string;
  bulkOpsRequestId?: string;
}

export interface StationOnboardingOptions {
  mode: StationOnboardMode;
  journal: StationJournal;
  cloud?: CloudClient;
  /** Rows per OnboardDevices request (nRF Cloud's limit, 1000, by default). */
  batchSize?: number;
  bulkWait?: WaitForBulkOpsOptions;
  /** subType, tags, fwTypes for rows rebuilt from the journal. */
  rowFields?: OnboardingFields;
  onResult?: (result: OnboardingResult) => void;
  onUpload?: (upload: { bulkOpsRequestId: string; devices: number }) => void;
}

/**
 * Onboarding for the station, exactly once per device across crashes and restarts.
 *
 * Every upload is journaled before it is sent ("onboard-start"), its bulk job ID as soon as
 * nRF Cloud accepted it ("bulk-submitted"), and each device's result after the job ended. On
 * a restart, `recover()` finishes that: it waits for jobs that were submitted, asks nRF Cloud
 * about devices whose upload may or may not have arrived (after waiting for any job still
 * running), and queues again only devices without a recorded success.
 */
export class StationOnboarding implements Onboarder {
  private readonly pending: OnboardingRow[] = [];
  /** Devices queued or uploaded in this run: each goes out at most once per run. */
  private readonly claimed = new Set<string>();
  private readonly uploads = new Set<Promise<void>>();
  private readonly batchSize: number;

  constructor(private readonly options: StationOnboardingOptions) {
    this.batchSize = options.batchSize ?? 1000;
    if (options.mode !== "none" && options.cloud === undefined) {
      throw new TypeError(`--onboard ${options.mode} needs a cloud client`);
    }
  }

  async onboard(row: OnboardingRow): Promise<OnboardingOutcome> {
    const { mode, journal } = this.options;
    if (mode === "none") return { mode: "none" };
    const state = journal.recall(row.deviceId)?.onboarding.state;
    if (state === "succeeded") return { mode, status: "already-onboarded" };
    if (mode === "single") {
      await this.onboardNow(row);
      return { mode, status: "onboarded" };
    }
    this.enqueue(row);
    return { mode, status: "queued" };
  }

  /**
   * Finishes what an earlier run left (see the class comment); call before any board runs.
   * Returns how many devices it took up again.
   */
  async recover(): Promise<number> {
    if (this.options.mode === "none") return 0;
    const unfinished = this.options.journal
      .histories()
      .filter((history) => history.provisioned && history.certificate !== undefined)
      .filter((history) => history.onboarding.state !== "succeeded");
    if (unfinished.length === 0) return 0;

    await this.awaitSubmittedJobs(unfinished.filter((h) => h.onboarding.state === "submitted"));
    const inFlight = unfinished.filter((h) => h.onboarding.state === "in-flight");
    if (inFlight.length > 0) await this.settleInFlight(inFlight);

    for (const history of unfinished) {
      const now = this.options.journal.recall(history.deviceId);
      if (now?.onboarding.state === "succeeded" || now?.certificate === undefined) continue;
      const row = onboardingRowFor(now.deviceId, now.certificate.pem, this.options.rowFields);
      if (this.options.mode === "single") await this.onboardNow(row).catch(() => {});
      else this.enqueue(row);
    }
    return unfinished.length;
  }

  /** Uploads whatever is still queued and waits for every bulk job to end. */
  async finish(): Promise<void> {
    if (this.pending.length > 0) this.startUpload(this.pending.splice(0));
    while (this.uploads.size > 0) await Promise.all(this.uploads);
  }

  private enqueue(row: OnboardingRow): void {
    if (this.claimed.has(row.deviceId)) return;
    this.claimed.add(row.deviceId);
    this.pending.push(row);
    if (this.pending.length >= this.batchSize) {
      this.startUpload(this.pending.splice(0, this.batchSize));
    }
  }

  private async onboardNow(row: OnboardingRow): Promise<void> {
    const { journal, cloud } = this.options;
    await journal.record({ type: "onboard-start", deviceIds: [row.deviceId] });
    try {
      await cloud!.onboardDevice(row);
    } catch (error) {
      await this.recordFailure(row.deviceId, error);
      throw error;
    }
    await this.recordSuccess(row.deviceId);
  }

  /** Uploads one chunk in the background; the board that filled it does not wait for the job. */
  private startUpload(rows: OnboardingRow[]): void {
    const upload = this.upload(rows).finally(() => this.uploads.delete(upload));
    this.uploads.add(upload);
  }

  private async upload(rows: OnboardingRow[]): Promise<void> {
    const { journal, cloud } = this.options;
    const deviceIds = rows.map((row) => row.deviceId);
    try {
      await journal.record({ type: "onboard-start", deviceIds });
      const upload = await cloud!.onboardDevices(rows);
      for (const chunk of upload.chunks) {
        await journal.record({
          type: "bulk-submitted",
          bulkOpsRequestId: chunk.bulkOpsRequestId,
          deviceIds: chunk.deviceIds,
        });
        this.options.onUpload?.({
          bulkOpsRequestId: chunk.bulkOpsRequestId,
          devices: chunk.deviceIds.length,
        });
      }
      await Promise.all(upload.chunks.map((chunk) => this.awaitJob(chunk)));
    } catch (error) {
      for (const deviceId of deviceIds) {
        if (journal.recall(deviceId)?.onboarding.state !== "succeeded") {
          await this.recordFailure(deviceId, error).catch(() => {});
        }
      }
    }
  }

  /** Waits for one bulk job and journals each of its devices' result. */
  private async awaitJob(chunk: BulkUploadChunk): Promise<void> {
    const result = await this.options.cloud!.waitForBulkOps(chunk, {
      ...this.options.bulkWait,
      throwOnFailure: false,
    });
    const failures = new Map(result.failures.map((f) => [f.deviceId, f.message]));
    for (const deviceId of chunk.deviceIds) {
      const message = failures.get(deviceId);
      if (message === undefined) await this.recordSuccess(deviceId, chunk.bulkOpsRequestId);
      else {
        await this.recordFailure(
          deviceId,
          new NrfProvisionError("ERR_BULK_FAILED", `nRF Cloud refused ${deviceId}: ${message}`),
          chunk.bulkOpsRequestId,
        );
      }
    }
  }

  private async awaitSubmittedJobs(histories: DeviceHistory[]): Promise<void> {
    const jobs = new Map<string, string[]>();
    for (const record of this.options.journal.records) {
      if (record.type === "bulk-submitted") jobs.set(record.bulkOpsRequestId, record.deviceIds);
    }
    const wanted = new Set(histories.map((h) => h.onboarding.bulkOpsRequestId));
    await Promise.all(
      [...jobs]
        .filter(([id]) => wanted.has(id))
        .map(([bulkOpsRequestId, deviceIds]) =>
          this.awaitJob({ bulkOpsRequestId, deviceIds, firstInputRow: 0 }).catch(() => {}),
        ),
    );
  }

  /**
   * The upload of these devices was sent but its answer never journaled: maybe nRF Cloud has
   * them. Jobs still running finish first, then each device is looked up.
   */
  private async settleInFlight(histories: DeviceHistory[]): Promise<void> {
    const cloud = this.options.cloud!;
    const running = await cloud.listBulkOpsRequests({ pageLimit: 100 }).catch(() => undefined);
    for (const job of running?.items ?? []) {
      if (job.status === "PENDING" || job.status === "IN_PROGRESS") {
        await cloud.waitForBulkOps(job.bulkOpsRequestId, this.options.bulkWait).catch(() => {});
      }
    }
    for (const history of histories) {
      try {
        await cloud.fetchDevice({ deviceId: history.deviceId });
        await this.recordSuccess(history.deviceId);
      } catch (error) {
        if (!isNrfProvisionError(error) || !isNotFound(error)) throw error;
      }
    }
  }

  private async recordSuccess(deviceId: string, bulkOpsRequestId?: string): Promise<void> {
    await this.options.journal.record({
      type: "onboarded",
      deviceId,
      ...(bulkOpsRequestId === undefined ? {} : { bulkOpsRequestId }),
    });
    this.options.onResult?.({
      deviceId,
      ok: true,
      ...(bulkOpsRequestId === undefined ? {} : { bulkOpsRequestId }),
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
      ...(bulkOpsRequestId === undefined ? {} : { bulkOpsRequestId }),
    });
  }
}

function isNotFound(error: NrfProvisionError): boolean {
  return error.details.status === 404;
}
