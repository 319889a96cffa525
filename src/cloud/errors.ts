import { NrfProvisionError, type NrfProvisionErrorOptions } from "../errors/index.js";

/** Stable codes of the REST layer (`ERR_CLOUD_*` → exit code 5; `ERR_CLOUD_CONFIG` → 2). */
export type CloudErrorCode =
  | "ERR_CLOUD_HTTP"
  | "ERR_CLOUD_AUTH"
  | "ERR_CLOUD_CONFLICT"
  | "ERR_CLOUD_TIMEOUT"
  | "ERR_CLOUD_NETWORK"
  | "ERR_CLOUD_RESPONSE"
  | "ERR_CLOUD_CONFIG";

/** Stable codes of bulk operations (exit code 5; 130 when the wait was stopped). */
export type BulkOpsErrorCode = "ERR_BULK_FAILED" | "ERR_BULK_TIMEOUT" | "ERR_BULK_WAIT_ABORTED";

/** Every code of the cloud layer: requests, bulk operations, the CSV files nRF Cloud takes. */
export type CloudLayerErrorCode = CloudErrorCode | BulkOpsErrorCode | "ERR_CSV_INVALID";

/** A request to nRF Cloud failed. Details never contain the API key or a JWT. */
export class CloudError extends NrfProvisionError<CloudErrorCode> {
  constructor(code: CloudErrorCode, message: string, options: NrfProvisionErrorOptions = {}) {
    super(code, message, options);
  }
}

/** A bulk operation failed (some rows) or did not finish in time. */
export class BulkOpsError extends NrfProvisionError<BulkOpsErrorCode> {
  constructor(code: BulkOpsErrorCode, message: string, options: NrfProvisionErrorOptions = {}) {
    super(code, message, options);
  }
}

/**
 * A CSV row or field would be refused by nRF Cloud; nothing was sent. Messages number rows
 * from 1 (the line in the file); `details.row` is the 0-based index in the caller's rows.
 */
export class CsvError extends NrfProvisionError<"ERR_CSV_INVALID"> {
  constructor(
    message: string,
    details: { row?: number; deviceId?: string; field?: string; reason: string },
  ) {
    super("ERR_CSV_INVALID", message, { details });
  }
}
