// A simulated nRF91 modem: the AT command set nrf-provision uses, with real cryptography,
// over any byte transport or a socat pseudo-terminal pair.

export type { SimTerminator } from "./framer.js";
export { isValidImei, luhnCheckDigit } from "./identity.js";
export type { SimModemFaults, SimModemOptions, SimUrcLevel } from "./options.js";
export { socatAvailable, startSimModemOnPty } from "./pty.js";
export { SimModem } from "./sim-modem.js";
