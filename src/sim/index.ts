// Simulators that are real programs (`import … from "nrf-provision/sim"`): a simulated nRF91
// modem over any byte transport or a socat pseudo-terminal, and a simulated nRF Cloud HTTP
// server. Also the in-memory transport pair that connects a SimModem to an AT client.

export { createMemoryTransportPair, type MemoryTransport } from "../serial/index.js";
export {
  type SimBulkOp,
  type SimCloud,
  type SimCloudOptions,
  startSimCloud,
} from "./cloud/index.js";
export { SimError, type SimErrorCode } from "./errors.js";
export {
  SimModem,
  type SimModemFaults,
  type SimModemOptions,
  type SimTerminator,
  startSimModemOnPty,
} from "./modem/index.js";
export {
  type SimProvisioning,
  type SimProvisioningFaults,
  type SimProvisioningOptions,
  startSimProvisioning,
} from "./provisioning/index.js";
