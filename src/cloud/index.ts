// nRF Cloud REST client: typed endpoints, CSV bodies, bulk operations, retries.
export type { AssociateDeviceInput, CreateDeviceCertificateInput } from "./association.js";
export {
  type BulkOpsResult,
  type BulkRowFailure,
  type BulkUploadResult,
  bulkFailedError,
  type ListBulkOpsOptions,
  type WaitForBulkOpsOptions,
} from "./bulk-ops.js";
export type { BulkUpload, BulkUploadChunk } from "./bulk-upload.js";
export { type CloudClient, createCloudClient } from "./client.js";
export { type CloudClientOptions, DEFAULT_BASE_URL } from "./context.js";
export {
  type CreatedCertificateFiles,
  createdCertificateFiles,
  refuseExistingCertificateFiles,
  writeCreatedCertificate,
} from "./created-certificate.js";
export * from "./csv/index.js";
export type { DeleteDeviceInput, FetchDeviceInput, OnboardDeviceInput } from "./devices.js";
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
export { shadowVersion, type UpdateDeviceStateInput } from "./state.js";
