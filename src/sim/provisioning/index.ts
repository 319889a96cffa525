// Simulated nRF Cloud Provisioning Service: the owner REST API (claims, commands, rules, tags)
// and the device endpoints (CBOR commands and responses, device JWTs), on a real HTTP server.

export { verifyDeviceJwt } from "./device-auth.js";
export {
  type CommandFields,
  type CommandMapping,
  defaultCommandMapping,
  readWireResponses,
  type WireCommand,
  type WireResponse,
} from "./mapping.js";
export type { CloudAccessKeyEvent, SimProvisioningFaults } from "./routing.js";
export {
  type SimProvisioning,
  type SimProvisioningOptions,
  startSimProvisioning,
} from "./server.js";
export type {
  SimClaimedDevice,
  SimCommand,
  SimCommandStatus,
  SimIdentity,
  SimRule,
} from "./state.js";
