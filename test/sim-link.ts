import { readFileSync } from "node:fs";
import { type AtClient, type AtClientOptions, openAtClient } from "../src/at/index.js";
import { createMemoryTransportPair, type MemoryTransport } from "../src/serial/index.js";
import { SimModem, type SimModemOptions } from "../src/sim/modem/index.js";

// Shared by the at, modem, sim and pipeline tests: the simulated nRF91 on an in-memory link.

/** assets/AmazonRootCA1.pem, the CA every board gets (1188 bytes, LF). */
export const amazonRootCa = readFileSync(
  new URL("../assets/AmazonRootCA1.pem", import.meta.url),
  "utf8",
);
/** Its SHA-256 as `AT%CMNG=1` lists it (uppercase hex; mfw ≥ 1.3.2). */
export const AMAZON_ROOT_CA_SHA256 =
  "2C43952EE9E000FF2ACC4E2ED0897C0A72AD5FA72C3D934E81741CBD54F05BD1";

export interface SimModemLink {
  modem: SimModem;
  /** The host end (what the AT client or a test reads and writes). */
  host: MemoryTransport;
  /** The modem's end: `device.disconnect(reason)` is an unplug. */
  device: MemoryTransport;
}

/** A simulated modem serving AT on one end of an in-memory link. */
export function simModemOnMemory(
  options: SimModemOptions = {},
  names?: [host: string, device: string],
): SimModemLink {
  const [host, device] = createMemoryTransportPair(names);
  const modem = new SimModem(options);
  modem.attach(device);
  return { modem, host, device };
}

/** The same, with the real AT client opened on the host end. */
export async function connectAtToSimModem(
  modemOptions: SimModemOptions = {},
  clientOptions: AtClientOptions = {},
  names?: [host: string, device: string],
): Promise<SimModemLink & { at: AtClient }> {
  const link = simModemOnMemory(modemOptions, names);
  return { ...link, at: await openAtClient(link.host, clientOptions) };
}
