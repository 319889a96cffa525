import { mapWithConcurrency } from "../concurrency/index.js";
import { type CloudContext, parseJson, responseError } from "./context.js";
import { buildOnboardingCsv, type CsvBody, type OnboardingRow } from "./csv/index.js";
import type { HttpRequest } from "./http.js";

/** A bulk operation's ID (schemas.ts has the same; that module loads zod). */
const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** One uploaded CSV request: its job ID and the device of each 0-based CSV row. */
export interface BulkUploadChunk {
  bulkOpsRequestId: string;
  deviceIds: string[];
  /** Index in the caller's row list of this request's row 0. */
  firstInputRow: number;
}

export interface BulkUpload {
  endpoint: "ONBOARD_DEVICES" | "REGISTER_CERTIFICATES" | "REGISTER_PUBLIC_KEYS";
  chunks: BulkUploadChunk[];
}

/** OnboardDevices: validates every row, then uploads ≤ 1000-row CSVs concurrently. */
export function onboardDevices(
  context: CloudContext,
  rows: readonly OnboardingRow[],
): Promise<BulkUpload> {
  return uploadCsv(context, "ONBOARD_DEVICES", "/devices", buildOnboardingCsv(rows));
}

/** Posts each CSV body (at most `uploadConcurrency` at a time) and keeps each job's rows. */
export async function uploadCsv(
  context: CloudContext,
  endpoint: BulkUpload["endpoint"],
  path: string,
  bodies: readonly CsvBody[],
): Promise<BulkUpload> {
  const chunks = await mapWithConcurrency(bodies, context.uploadConcurrency, async (body) => {
    const request: HttpRequest = {
      method: "POST",
      url: context.url(path),
      auth: context.apiKey,
      body: body.body,
      contentType: "text/csv",
      expect: [202],
    };
    const bulkOpsRequestId = acceptedBulkOpsId(request, await context.send(request));
    return { bulkOpsRequestId, deviceIds: body.deviceIds, firstInputRow: body.firstRow };
  });
  return { endpoint, chunks };
}

/**
 * The 202 of a bulk upload, `{"bulkOpsRequestId": "<ULID>"}`, checked by hand so that the
 * first status poll goes out at once instead of after zod has loaded.
 */
function acceptedBulkOpsId(request: HttpRequest, response: { text: string }): string {
  const json = parseJson(request, response);
  const id = (json as { bulkOpsRequestId?: unknown } | null)?.bulkOpsRequestId;
  if (typeof id !== "string" || !ULID_PATTERN.test(id)) {
    throw responseError(request, "has no bulkOpsRequestId (a ULID)", undefined);
  }
  return id;
}
