import type { BulkUpload, BulkUploadChunk } from "./bulk-upload.js";
import type { CloudContext } from "./context.js";
import { parseErrorSummary } from "./error-summary.js";
import { BulkOpsError } from "./errors.js";
import type { BulkOpsRequestDetails, BulkOpsRequestList, BulkOpsStatus } from "./schemas.js";

export interface BulkRowFailure {
  bulkOpsRequestId: string;
  /** 0-based row of that request's CSV. */
  row: number;
  /** Index in the caller's row list, when the upload was made by this client. */
  inputRow: number | null;
  deviceId: string | null;
  message: string;
}

export interface BulkOpsResult {
  bulkOpsRequestId: string;
  status: "SUCCEEDED" | "FAILED";
  details: BulkOpsRequestDetails;
  failures: BulkRowFailure[];
  /** The error summary as received when it could not be parsed (all rows then count as failed). */
  rawErrorSummary?: string;
}

export interface BulkUploadResult {
  status: "SUCCEEDED" | "FAILED";
  results: BulkOpsResult[];
  failures: BulkRowFailure[];
}

export interface WaitForBulkOpsOptions {
  /** Overall limit (default 10 min). */
  timeoutMs?: number;
  /** First poll delay (default 1 s), growing ×1.5 up to `maxPollIntervalMs` (default 5 s). */
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
  onProgress?: (details: BulkOpsRequestDetails) => void;
  /** Throw ERR_BULK_FAILED instead of returning a FAILED result. */
  throwOnFailure?: boolean;
  /** Stops waiting (ERR_BULK_WAIT_ABORTED) when aborted; the job itself goes on. */
  signal?: AbortSignal;
}

export interface ListBulkOpsOptions {
  status?: BulkOpsStatus;
  startRequestedAt?: string;
  endRequestedAt?: string;
  pageLimit?: number;
  pageNextToken?: string | undefined;
}

/** FetchBulkOpsRequest: one job's status. */
export function getBulkOpsRequest(
  context: CloudContext,
  bulkOpsRequestId: string,
): Promise<BulkOpsRequestDetails> {
  return context.sendJson(
    {
      method: "GET",
      url: context.url(`/bulk-ops-requests/${encodeURIComponent(bulkOpsRequestId)}`),
      auth: context.apiKey,
      expect: [200],
    },
    "BulkOpsRequestDetailsSchema",
  );
}

/** ListBulkOpsRequests: the account's jobs, newest first, one page. */
export function listBulkOpsRequests(
  context: CloudContext,
  query: ListBulkOpsOptions = {},
): Promise<BulkOpsRequestList> {
  return context.sendJson(
    {
      method: "GET",
      url: context.url("/bulk-ops-requests", { ...query }),
      auth: context.apiKey,
      expect: [200],
    },
    "BulkOpsRequestListSchema",
  );
}

/**
 * Polls one job until it ends, waiting with the context's (injected) sleep; with a chunk
 * (not a bare ID) failures carry device IDs.
 */
export async function waitForBulkOps(
  context: CloudContext,
  job: string | BulkUploadChunk,
  waitOptions: WaitForBulkOpsOptions = {},
): Promise<BulkOpsResult> {
  const chunk = typeof job === "string" ? null : job;
  const id = typeof job === "string" ? job : job.bulkOpsRequestId;
  const timeoutMs = waitOptions.timeoutMs ?? 600_000;
  const deadline = context.now() + timeoutMs;
  const maxInterval = waitOptions.maxPollIntervalMs ?? 5_000;
  let interval = Math.min(waitOptions.pollIntervalMs ?? 1_000, maxInterval);
  let details = await getBulkOpsRequest(context, id);
  waitOptions.onProgress?.(details);
  while (details.status === "PENDING" || details.status === "IN_PROGRESS") {
    const remaining = deadline - context.now();
    if (remaining <= 0) {
      throw stillRunningError("ERR_BULK_TIMEOUT", id, details.status, `after ${timeoutMs} ms`);
    }
    await context.sleep(Math.min(interval, remaining), waitOptions.signal);
    if (waitOptions.signal?.aborted) {
      throw stillRunningError("ERR_BULK_WAIT_ABORTED", id, details.status, "");
    }
    interval = Math.min(interval * 1.5, maxInterval);
    details = await getBulkOpsRequest(context, id);
    waitOptions.onProgress?.(details);
  }
  const result = await collectFailures(context, details, chunk);
  if (result.status === "FAILED" && waitOptions.throwOnFailure) throw bulkFailedError([result]);
  return result;
}

function stillRunningError(
  code: "ERR_BULK_TIMEOUT" | "ERR_BULK_WAIT_ABORTED",
  id: string,
  status: string,
  after: string,
): BulkOpsError {
  const hint = `check it later with "cloud bulk-status ${id} --wait".`;
  const message =
    code === "ERR_BULK_TIMEOUT"
      ? `Bulk operation ${id} is still ${status} ${after}; ${hint}`
      : `Stopped waiting for bulk operation ${id} (still ${status}); ${hint}`;
  return new BulkOpsError(code, message, { details: { bulkOpsRequestId: id, status } });
}

/** Waits for every request of an upload (concurrently) and merges the failures. */
export async function waitForBulkUpload(
  context: CloudContext,
  upload: BulkUpload,
  waitOptions: WaitForBulkOpsOptions = {},
): Promise<BulkUploadResult> {
  const results = await Promise.all(
    upload.chunks.map((chunk) =>
      waitForBulkOps(context, chunk, { ...waitOptions, throwOnFailure: false }),
    ),
  );
  const failures = results.flatMap((result) => result.failures);
  const status = results.every((result) => result.status === "SUCCEEDED") ? "SUCCEEDED" : "FAILED";
  if (status === "FAILED" && waitOptions.throwOnFailure) throw bulkFailedError(results);
  return { status, results, failures };
}

/** A finished job's failed rows, from its error summary (every row when there is none). */
async function collectFailures(
  context: CloudContext,
  details: BulkOpsRequestDetails,
  chunk: BulkUploadChunk | null,
): Promise<BulkOpsResult> {
  const id = details.bulkOpsRequestId;
  const status = details.status === "SUCCEEDED" ? "SUCCEEDED" : "FAILED";
  if (status === "SUCCEEDED") return { bulkOpsRequestId: id, status, details, failures: [] };
  const failure = (row: number, message: string): BulkRowFailure => ({
    bulkOpsRequestId: id,
    row,
    inputRow: chunk ? chunk.firstInputRow + row : null,
    deviceId: chunk?.deviceIds[row] ?? null,
    message,
  });
  const everyRow = (message: string) =>
    (chunk?.deviceIds ?? []).map((_, row) => failure(row, message));
  const result = { bulkOpsRequestId: id, status, details } as const;
  if (!details.errorSummaryUrl) {
    return { ...result, failures: everyRow("unknown (no error summary)") };
  }
  // Pre-signed URL: fetched as given, without the Authorization header.
  const response = await context.send({
    method: "GET",
    url: new URL(details.errorSummaryUrl),
    auth: { kind: "none" },
    expect: [200],
  });
  const summary = parseErrorSummary(response.text);
  if (summary.format === "unparseable") {
    return {
      ...result,
      failures: everyRow("unknown (error summary unparseable)"),
      rawErrorSummary: summary.raw,
    };
  }
  return { ...result, failures: summary.errors.map((error) => failure(error.row, error.message)) };
}

/** The error for failed bulk rows: every failed device with its reason, in the details. */
export function bulkFailedError(results: readonly BulkOpsResult[]): BulkOpsError {
  const failures = results.flatMap((result) => result.failures);
  const named = failures
    .slice(0, 5)
    .map((failure) => `${failure.deviceId ?? `row ${failure.row}`}: ${failure.message}`)
    .join("; ");
  const more = failures.length > 5 ? ` (and ${failures.length - 5} more)` : "";
  const failedIds = results
    .filter((result) => result.status === "FAILED")
    .map((result) => result.bulkOpsRequestId);
  return new BulkOpsError(
    "ERR_BULK_FAILED",
    `${failures.length} device(s) failed in bulk operation(s) ${failedIds.join(", ")}: ${named}${more}. Fix those rows and resubmit only them.`,
    { details: { bulkOpsRequestIds: results.map((result) => result.bulkOpsRequestId), failures } },
  );
}
