import { type AtClient, type AtClientOptions, openAtClient } from "../../src/at/index.js";
import { createMemoryTransportPair, type MemoryTransport } from "../../src/serial/index.js";
import { SimModem, type SimModemOptions } from "../../src/sim/modem/index.js";

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
  const modem = new SimModem({ seed: "modem-tests", ...modemOptions });
  const [host, device] = createMemoryTransportPair();
  modem.attach(device);
  const at = await openAtClient(host, { flushMs: 5, ...clientOptions });
  return { at, modem, host };
}
