// Simulated nRF Cloud: a real HTTP server implementing the REST endpoints nrf-provision uses.

export {
  createSimCertificateAuthority,
  issueKeyPair,
  type SimCertificateAuthority,
  type SimIssuedKeyPair,
} from "./certificates.js";
export {
  DeviceRegistry,
  type DeviceShadow,
  DUPLICATE_CERTIFICATE,
  type RowProblem,
  type SimDevice,
} from "./registry.js";
export { type SimBulkOp, type SimCloud, type SimCloudOptions, startSimCloud } from "./server.js";
export type { BulkEndpoint } from "./validate.js";
