// nRF Cloud REST client: typed endpoints, CSV bodies, bulk operations, retries.
export {
  type BulkOpsResult,
  type BulkRowFailure,
  type BulkUpload,
  type BulkUploadChunk,
  type BulkUploadResult,
  bulkFailedError,
  type CloudClient,
  type CloudClientOptions,
  createCloudClient,
  DEFAULT_BASE_URL,
  type ListBulkOpsOptions,
  type OnboardDeviceInput,
  type UpdateDeviceStateInput,
  type WaitForBulkOpsOptions,
} from "./client.js";
export * from "./csv.js";
export { type CsvRecord, parseCsvRecords } from "./csv-parse.js";
export * from "./error-summary.js";
export * from "./errors.js";
export { parseErrorBody, parseRetryAfter, type RetryOptions } from "./http.js";
export type {
  BulkOpsAccepted,
  BulkOpsRequestDetails,
  BulkOpsRequestList,
  BulkOpsStatus,
  Device,
  DeviceCertificate,
} from "./schemas.js";
