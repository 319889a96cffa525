import { CloudError } from "../cloud/errors.js";
import { NrfProvisionError } from "../errors/index.js";
import type { ProvisioningHttp } from "./http.js";
import type { BulkClaimAnswer, ClaimedDevice } from "./schemas.js";

/** utils' MAX_CSV_ROWS: the client's choice, no server limit is documented (reference §2.4). */
export const MAX_BULK_CLAIM_ROWS = 1000;

export type ClaimCheck =
  | { claimable: true }
  | { claimable: false; status: number; message: string };

/** `POST /claimed-devices?dryrun=true`: 202 = claimable, any other 4xx = the reason why not. */
export async function checkClaim(http: ProvisioningHttp, claimToken: string): Promise<ClaimCheck> {
  try {
    await http.send({
      method: "POST",
      path: "/claimed-devices",
      query: { dryrun: "true" },
      json: { claimToken },
      expect: [202],
    });
    return { claimable: true };
  } catch (error) {
    if (!(error instanceof CloudError)) throw error;
    const status = error.details.status;
    if (
      typeof status !== "number" ||
      status < 400 ||
      status >= 500 ||
      status === 401 ||
      status === 403
    ) {
      throw error;
    }
    const message = typeof error.details.message === "string" ? error.details.message : "";
    return { claimable: false, status, message };
  }
}

/** `POST /claimed-devices {claimToken, tags}`: 201 with the claimed device. Tags are split, not one string. */
export function claimDevice(
  http: ProvisioningHttp,
  claim: { claimToken: string; tags?: readonly string[] | undefined },
): Promise<ClaimedDevice> {
  // No tags: no `tags` field at all (JSON leaves an undefined one out).
  const tags = claim.tags?.length ? [...claim.tags] : undefined;
  return http.sendJson(
    {
      method: "POST",
      path: "/claimed-devices",
      json: { claimToken: claim.claimToken, tags },
      expect: [201],
    },
    "ClaimedDeviceSchema",
  );
}

export interface BulkClaimRow {
  claimToken: string;
  tags?: readonly string[];
  /** The UUID in the token, when known: how the answer's IDs are mapped back to rows. */
  deviceUuid?: string;
}

export type BulkClaimRowStatus =
  /** The service listed the device among `claimedIds`. */
  | "claimed"
  /** The service listed it among `failed`, or its request failed. */
  | "failed"
  /** The service accepted a bulk operation; its outcome is read elsewhere. */
  | "accepted"
  /** The answer named neither success nor failure for it. */
  | "unreported";

export interface BulkClaimRowResult {
  /** 0-based index in the caller's rows. */
  row: number;
  deviceUuid: string | null;
  status: BulkClaimRowStatus;
  message?: string;
  code?: string;
  bulkOpsRequestId?: string;
}

export interface BulkClaimChunk {
  firstRow: number;
  rowCount: number;
  claimed: number;
  bulkOpsRequestId?: string;
  /** `failed` entries that matched no row of the chunk, kept as received. */
  unmatchedFailures: unknown[];
  error?: { code: string; message: string };
}

export interface BulkClaimResult {
  rows: BulkClaimRowResult[];
  chunks: BulkClaimChunk[];
}

/** The CSV body utils sends: every field quoted, `\n` line ends (reference §2.4). */
export function bulkClaimCsv(rows: readonly BulkClaimRow[], tagSeparator: string): string {
  const quote = (field: string) => `"${field.replaceAll('"', '""')}"`;
  return rows
    .map((row) => {
      const fields = [row.claimToken];
      if (row.tags !== undefined && row.tags.length > 0) fields.push(row.tags.join(tagSeparator));
      return `${fields.map(quote).join(",")}\n`;
    })
    .join("");
}

/** Claims rows in chunks, one request at a time; a failed request fails its rows only. */
export async function bulkClaim(
  http: ProvisioningHttp,
  rows: readonly BulkClaimRow[],
  bulk: { chunkSize: number; path: string; tagSeparator: string },
): Promise<BulkClaimResult> {
  const result: BulkClaimResult = { rows: [], chunks: [] };
  for (let first = 0; first < rows.length; first += bulk.chunkSize) {
    const chunkRows = rows.slice(first, first + bulk.chunkSize);
    const request = {
      method: "POST" as const,
      path: bulk.path,
      body: bulkClaimCsv(chunkRows, bulk.tagSeparator),
      contentType: "text/csv",
      expect: [200, 201, 202],
    };
    try {
      const response = await http.send(request);
      const answer = await http.parse(request, response.text, "BulkClaimAnswerSchema");
      const mapped = mapBulkAnswer(chunkRows, first, answer);
      result.rows.push(...mapped.rows);
      result.chunks.push(mapped.chunk);
    } catch (error) {
      const code = error instanceof NrfProvisionError ? error.code : "ERR_UNEXPECTED";
      const message = error instanceof Error ? error.message : String(error);
      result.rows.push(
        ...chunkRows.map((row, index) => ({
          row: first + index,
          deviceUuid: row.deviceUuid ?? null,
          status: "failed" as const,
          code,
          message,
        })),
      );
      result.chunks.push({
        firstRow: first,
        rowCount: chunkRows.length,
        claimed: 0,
        unmatchedFailures: [],
        error: { code, message },
      });
    }
  }
  return result;
}

/** One chunk's answer mapped back to its rows, by device UUID or by token. */
function mapBulkAnswer(
  rows: readonly BulkClaimRow[],
  first: number,
  answer: BulkClaimAnswer,
): { rows: BulkClaimRowResult[]; chunk: BulkClaimChunk } {
  const base = (row: BulkClaimRow, index: number) => ({
    row: first + index,
    deviceUuid: row.deviceUuid ?? null,
  });
  if ("bulkOpsRequestId" in answer && !("claimedIds" in answer)) {
    const id = answer.bulkOpsRequestId;
    return {
      rows: rows.map((row, index) => ({
        ...base(row, index),
        status: "accepted",
        bulkOpsRequestId: id,
      })),
      chunk: {
        firstRow: first,
        rowCount: rows.length,
        claimed: 0,
        bulkOpsRequestId: id,
        unmatchedFailures: [],
      },
    };
  }
  const { claimedIds, failed } = answer as { claimedIds: string[]; failed: unknown[] };
  const claimed = new Set(claimedIds.map((id) => id.toLowerCase()));
  const failures = new Map<number, string>();
  const unmatchedFailures: unknown[] = [];
  for (const item of failed) {
    const index = rows.findIndex((row) => failureNames(item, row));
    if (index < 0 || failures.has(index)) unmatchedFailures.push(item);
    else failures.set(index, failureMessage(item));
  }
  const mapped = rows.map((row, index): BulkClaimRowResult => {
    const failure = failures.get(index);
    if (failure !== undefined) return { ...base(row, index), status: "failed", message: failure };
    if (row.deviceUuid !== undefined && claimed.has(row.deviceUuid.toLowerCase())) {
      return { ...base(row, index), status: "claimed" };
    }
    return {
      ...base(row, index),
      status: "unreported",
      message: "the service's answer named neither success nor failure for this device",
    };
  });
  return {
    rows: mapped,
    chunk: {
      firstRow: first,
      rowCount: rows.length,
      claimed: claimedIds.length,
      unmatchedFailures,
    },
  };
}

/** The shape of `failed` entries is not documented [?]: a UUID or token string, or an object naming either. */
function failureNames(item: unknown, row: BulkClaimRow): boolean {
  const names =
    typeof item === "string"
      ? [item]
      : typeof item === "object" && item !== null
        ? ["id", "deviceId", "deviceUuid", "uuid", "claimToken", "token"]
            .map((key) => (item as Record<string, unknown>)[key])
            .filter((value): value is string => typeof value === "string")
        : [];
  return names.some(
    (name) =>
      name === row.claimToken ||
      (row.deviceUuid !== undefined && name.toLowerCase() === row.deviceUuid.toLowerCase()),
  );
}

function failureMessage(item: unknown): string {
  if (typeof item === "object" && item !== null) {
    for (const key of ["message", "reason", "error"]) {
      const value = (item as Record<string, unknown>)[key];
      if (typeof value === "string" && value !== "") return value;
    }
  }
  return typeof item === "string" ? "listed as failed" : JSON.stringify(item);
}
