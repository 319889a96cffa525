import type { AtClient, AtClientOptions } from "../../src/at/index.js";
import type { MemoryTransport } from "../../src/serial/index.js";
import type { SimModem, SimModemOptions } from "../../src/sim/modem/index.js";
import { connectAtToSimModem } from "../sim-link.js";

export interface SimConnection {
  at: AtClient;
  modem: SimModem;
  host: MemoryTransport;
}

/** A simulated modem on an in-memory link with the real AT client on the host end. */
export async function connectSim(
  modemOptions: SimModemOptions = {},
  clientOptions: AtClientOptions = { mode: "at" },
): Promise<SimConnection> {
  return connectAtToSimModem(
    { seed: "modem-tests", ...modemOptions },
    { flushMs: 5, ...clientOptions },
  );
}
