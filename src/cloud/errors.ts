import { NrfProvisionError } from "../errors/index.js";

/** Stable codes of the REST layer (`ERR_CLOUD_*` → exit code 5). */
export type CloudErrorCode =
  | "ERR_CLOUD_HTTP"
  | "ERR_CLOUD_AUTH"
  | "ERR_CLOUD_CONFLICT"
  | "ERR_CLOUD_TIMEOUT"
  | "ERR_CLOUD_NETWORK"
  | "ERR_CLOUD_RESPONSE"
  | "ERR_CLOUD_CONFIG";

/** A request to nRF Cloud failed. Details never contain the API key or a JWT. */
export class CloudError extends NrfProvisionError {
  constructor(
    code: CloudErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
  }
}

/** A bulk operation failed (some rows) or did not finish in time. */
export class BulkOpsError extends NrfProvisionError {
  constructor(
    code: "ERR_BULK_FAILED" | "ERR_BULK_TIMEOUT" | "ERR_BULK_WAIT_ABORTED",
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
  }
}

/**
 * A CSV row or field would be refused by nRF Cloud; nothing was sent. Messages number rows
 * from 1 (the line in the file); `details.row` is the 0-based index in the caller's rows.
 */
export class CsvError extends NrfProvisionError {
  constructor(
    message: string,
    details: { row?: number; deviceId?: string; field?: string; reason: string },
  ) {
    super("ERR_CSV_INVALID", message, { details });
  }
}
