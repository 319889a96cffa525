// The device side of nRF Cloud's Provisioning Service on a simulated board: sdk-nrf's
// nrf_provisioning client loop (poll, run AT commands on the modem, report), for rehearsals
// and tests of the owner side.

export { type DeviceAgent, startDeviceAgent } from "./agent.js";
export {
  CommandDecodeError,
  type DeviceCommand,
  type DeviceResponse,
  decodeCommands,
  encodeResponses,
  MAX_CORRELATION_ID_LENGTH,
} from "./codec.js";
export { executeBatch } from "./execute.js";
export {
  type DeviceAgentOptions,
  runProvisioningSession,
  type SessionOutcome,
  type SessionResult,
} from "./session.js";
