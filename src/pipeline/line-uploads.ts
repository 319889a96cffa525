import { BulkOpsError, type CloudClient, type WaitForBulkOpsOptions } from "../cloud/index.js";
import { describeError, isNrfProvisionError } from "../errors/index.js";
import { waitForDeviceResults } from "./bulk-results.js";
import { crashPoint } from "./crash-point.js";
import type { StationJournal } from "./journal.js";
import {
  type QueuedRow,
  recordSubmitted,
  recordUploadStart,
  type UploadListener,
} from "./upload-journal.js";

// The queue's rows are the station's upload rows; its users import the type from here.
export type { QueuedRow };

/** Where a row of the line's queue stands. */
export interface RowOutcome {
  deviceId: string;
  fingerprint: string;
  state: "pending" | "sending" | "onboarded" | "failed";
  bulkOpsRequestId?: string | undefined;
  error?: string | undefined;
}

/** A bulk job this station took: its rows in the order of the CSV it sends. */
export interface TakenJob {
  jobId: string;
  rows: QueuedRow[];
  /** nRF Cloud's job, when it was already accepted (a dead station's job taken over). */
  bulkOpsRequestId?: string;
}

/** One device's result in a finished job: no error means nRF Cloud confirmed this certificate. */
export interface RowResult {
  deviceId: string;
  fingerprint: string;
  error?: string | undefined;
}

/** A result for one of this station's own devices, as the line's queue reports it. */
export interface OwnRowResult {
  deviceId: string;
  fingerprint: string;
  /** nRF Cloud's refusal of the row; none when it confirmed the certificate. */
  error?: unknown;
  bulkOpsRequestId?: string | undefined;
  /** Still open when the station stopped waiting. */
  unfinished?: boolean;
}

/**
 * The onboarding rows of the whole line (the `uploads` tables of the line's store): every
 * station enqueues its boards' rows there, and whichever station flushes takes pending rows of
 * any station into one bulk job, each row taken by exactly one job.
 */
export interface LineUploadQueue {
  /** Adds a row (once per device and certificate line-wide; a failed row is pending again). */
  enqueue(row: QueuedRow): Promise<{ linePending: number }>;
  /** Takes up to `limit` pending rows of the line into a new job of this station, if any. */
  take(limit: number): Promise<TakenJob | undefined>;
  /** nRF Cloud accepted the job: its bulk ID, kept before anything else happens. */
  submitted(jobId: string, bulkOpsRequestId: string): Promise<void>;
  /** The job ended (or its upload failed): each row's result. */
  finished(jobId: string, results: RowResult[], error?: string): Promise<void>;
  /** Where these rows stand now. */
  outcomes(rows: ReadonlyArray<{ deviceId: string; fingerprint: string }>): Promise<RowOutcome[]>;
  /**
   * The open jobs of dead (or stopped) stations, and this station's own from an earlier run:
   * those without a bulk ID have their rows put back to pending; those with one are handed to
   * this station (returned) to fetch their result.
   */
  takeOverOrphans(): Promise<TakenJob[]>;
}

export interface LineUploadsOptions {
  queue: LineUploadQueue;
  journal: StationJournal;
  cloud: CloudClient;
  /** Rows per bulk job (at most nRF Cloud's 1000). */
  batchSize: number;
  bulkWait?: WaitForBulkOpsOptions | undefined;
  /** Aborted when the station is interrupted: nothing more is sent, waits stop. */
  stop: AbortSignal;
  /** How often the end of a run looks at its rows taken by other stations (500 ms). */
  pollMs?: number;
  /** A result for one of this station's own devices. */
  report: (result: OwnRowResult) => Promise<void>;
  onUpload?: UploadListener | undefined;
}

/** nRF Cloud takes at most this many rows per OnboardDevices request: one job, one request. */
const ROWS_PER_JOB = 1000;

/**
 * `--onboard batch` on a line (the PostgreSQL store): a station's boards' rows go into the
 * line's queue, not the station's memory, and bulk jobs carry the rows of every station.
 *
 * When a station flushes: as soon as the line's pending rows reach the batch size (any station
 * whose board tips it over takes a batch, in the background), and at its end, while any of its
 * own rows is still pending (it takes the line's oldest pending rows first, so others' rows
 * ride along). How it learns its own rows' results when another station uploaded them: at its
 * end it looks at its rows in the queue until each is onboarded or failed (taking over jobs
 * of stations that died meanwhile), and journals each result for its board; a board is done
 * only once nRF Cloud confirmed its certificate, whoever sent it.
 *
 * The journal rules hold for the uploader: `onboard-start` for every row before the request
 * is sent, `bulk-submitted` (and the job's bulk ID in the queue) as soon as nRF Cloud accepted
 * it, and every row's result; the station that enqueued a row journals its result again.
 */
export class LineUploads {
  readonly #options: LineUploadsOptions;
  /** `<deviceId> <fingerprint>` of this station's rows whose result it has not journaled. */
  readonly #awaited = new Map<string, QueuedRow>();
  readonly #running = new Set<Promise<void>>();
  #taking = false;

  constructor(options: LineUploadsOptions) {
    this.#options = options;
  }

  get #limit(): number {
    return Math.min(this.#options.batchSize, ROWS_PER_JOB);
  }

  /** Enqueues one of this station's rows; a full batch on the line is taken at once. */
  async add(queued: QueuedRow): Promise<void> {
    const { linePending } = await this.#options.queue.enqueue(queued);
    this.#awaited.set(keyOf(queued.row.deviceId, queued.fingerprint), queued);
    if (linePending >= this.#limit && !this.#taking && !this.#options.stop.aborted) {
      this.#taking = true;
      // A failure leaves the rows in the queue; the end of the run looks again.
      const flush: Promise<void> = this.#takeAndUpload()
        .then(
          () => {},
          () => {},
        )
        .finally(() => {
          this.#taking = false;
          this.#running.delete(flush);
        });
      this.#running.add(flush);
    }
  }

  /** Re-enqueues what an earlier run left, and finishes the jobs dead stations left. */
  async recover(rows: QueuedRow[]): Promise<void> {
    for (const queued of rows) await this.add(queued);
    await this.#reconcile();
  }

  /**
   * Flushes while any of this station's rows is pending, then waits for the others' jobs that
   * carry its rows, up to the bulk wait timeout; what is still open then is reported unfinished
   * (the next run looks again).
   */
  async finish(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
    const deadline = Date.now() + (this.#options.bulkWait?.timeoutMs ?? 600_000);
    while (this.#awaited.size > 0 && !this.#options.stop.aborted) {
      await this.#reconcile();
      const open = await this.#acknowledge();
      if (open.length === 0) break;
      if (open.some((outcome) => outcome.state === "pending") && (await this.#takeAndUpload())) {
        continue;
      }
      if (Date.now() >= deadline) break;
      await sleep(this.#options.pollMs ?? 500, this.#options.stop);
    }
    for (const queued of this.#awaited.values()) {
      await this.#options.report({
        deviceId: queued.row.deviceId,
        fingerprint: queued.fingerprint,
        unfinished: true,
        error: new BulkOpsError(
          this.#options.stop.aborted ? "ERR_BULK_WAIT_ABORTED" : "ERR_BULK_TIMEOUT",
          `the row of ${queued.row.deviceId} is still in the line's upload queue, not confirmed by nRF Cloud yet`,
        ),
      });
    }
  }

  /** Journals the results of this station's rows that are final; returns the open ones. */
  async #acknowledge(): Promise<RowOutcome[]> {
    const outcomes = await this.#options.queue.outcomes(
      [...this.#awaited.values()].map((q) => ({
        deviceId: q.row.deviceId,
        fingerprint: q.fingerprint,
      })),
    );
    const open: RowOutcome[] = [];
    for (const outcome of outcomes) {
      if (outcome.state === "pending" || outcome.state === "sending") {
        open.push(outcome);
        continue;
      }
      this.#awaited.delete(keyOf(outcome.deviceId, outcome.fingerprint));
      await this.#options.report({
        deviceId: outcome.deviceId,
        fingerprint: outcome.fingerprint,
        bulkOpsRequestId: outcome.bulkOpsRequestId,
        error:
          outcome.state === "failed"
            ? new BulkOpsError("ERR_BULK_FAILED", outcome.error ?? "upload failed")
            : undefined,
      });
    }
    return open;
  }

  /** Takes one batch of the line's pending rows and uploads it; false when none was pending. */
  async #takeAndUpload(): Promise<boolean> {
    if (this.#options.stop.aborted) return false;
    const job = await this.#options.queue.take(this.#limit);
    if (job === undefined) return false;
    crashPoint(
      "before-batch-upload",
      job.rows.map((q) => q.row.deviceId),
    );
    await this.#upload(job);
    return true;
  }

  /** Sends a job this station took; every step journaled before the next one happens. */
  async #upload(job: TakenJob): Promise<void> {
    const { journal, cloud, queue } = this.#options;
    const deviceIds = job.rows.map((q) => q.row.deviceId);
    await recordUploadStart(journal, job.rows);
    const chunk = await cloud.onboardDevices(job.rows.map((q) => q.row)).then(
      // One job is at most 1000 rows: one request, one bulk ID.
      (upload) => upload.chunks[0]!,
      async (error: unknown) => {
        // Sent or not, nothing says nRF Cloud made a job: failed rows are enqueued again by the
        // next run that sees them, and a resubmission of the same certificate is accepted.
        await this.#record(
          job,
          deviceIds.map((id) => ({ id, error })),
          describeError(error),
        );
        return undefined;
      },
    );
    if (chunk === undefined) return;
    crashPoint("upload-accepted", deviceIds);
    await queue.submitted(job.jobId, chunk.bulkOpsRequestId);
    await recordSubmitted(journal, chunk, this.#options.onUpload);
    crashPoint("bulk-submitted", deviceIds);
    await this.#awaitJob({ ...job, bulkOpsRequestId: chunk.bulkOpsRequestId });
  }

  /**
   * Waits for a submitted job and records every row's result. A wait cut short decides
   * nothing: the job stays submitted, and is finished by whoever sees it once this station
   * has stopped (or by its next run).
   */
  async #awaitJob(job: TakenJob & { bulkOpsRequestId: string }): Promise<void> {
    const deviceIds = job.rows.map((q) => q.row.deviceId);
    const results = await waitForDeviceResults(
      this.#options.cloud,
      { bulkOpsRequestId: job.bulkOpsRequestId, deviceIds, firstInputRow: 0 },
      { ...this.#options.bulkWait, signal: this.#options.stop },
    ).catch(() => undefined);
    // Still running, or nRF Cloud unreachable: the job stays submitted.
    if (results === undefined) return;
    await this.#record(
      job,
      results.map(({ deviceId, error }) => ({ id: deviceId, error })),
      undefined,
      job.bulkOpsRequestId,
    );
  }

  /** A job's results: into the queue, then the journal (every row), then this station's own. */
  async #record(
    job: TakenJob,
    results: Array<{ id: string; error?: unknown }>,
    jobError: string | undefined,
    bulkOpsRequestId?: string,
  ): Promise<void> {
    const fingerprints = new Map(job.rows.map((q) => [q.row.deviceId, q.fingerprint]));
    await this.#options.queue.finished(
      job.jobId,
      results.map(({ id, error }) => ({
        deviceId: id,
        fingerprint: fingerprints.get(id)!,
        error: error === undefined ? undefined : describeError(error),
      })),
      jobError,
    );
    const { journal } = this.#options;
    for (const { id, error } of results) {
      const fingerprint = fingerprints.get(id)!;
      const key = keyOf(id, fingerprint);
      if (this.#awaited.delete(key)) {
        await this.#options.report({
          deviceId: id,
          fingerprint,
          error,
          bulkOpsRequestId,
        });
      } else if (error === undefined) {
        await journal.record({
          type: "onboarded",
          deviceId: id,
          sha256Fingerprint: fingerprint,
          bulkOpsRequestId,
        });
      } else {
        await journal.record({
          type: "onboard-failed",
          deviceId: id,
          code: isNrfProvisionError(error) ? error.code : "ERR_CLOUD_UNEXPECTED",
          message: describeError(error),
        });
      }
    }
  }

  /** Finishes the jobs dead stations left (see LineUploadQueue.takeOverOrphans). */
  async #reconcile(): Promise<void> {
    const jobs = await this.#options.queue.takeOverOrphans();
    for (const job of jobs) {
      if (job.bulkOpsRequestId !== undefined) {
        await this.#awaitJob({ ...job, bulkOpsRequestId: job.bulkOpsRequestId });
      }
    }
  }
}

function keyOf(deviceId: string, fingerprint: string): string {
  return `${deviceId} ${fingerprint}`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
