import { openAtClient } from "../../../src/at/index.js";
import { createMemoryTransportPair } from "../../../src/serial/index.js";
import { SimModem } from "../../../src/sim/modem/index.js";

/**
 * A simulated nRF9151 on an in-memory link, for the Provisioning Service tests: its AT client,
 * its attestation token, `quoted(command)` (the first quoted value of the answer, e.g. a JWT),
 * `jwt()` (AT%JWT=0,300 from its identity key) and `identity` (what `registerIdentity` takes to
 * put it in the simulated identity database).
 */
export async function simulatedBoard(seed: string) {
  const modem = new SimModem({
    seed,
    model: "nRF9151-LACA",
    firmware: "mfw_nrf91x1_2.0.1",
    clock: Date.now,
  });
  const [host, device] = createMemoryTransportPair();
  modem.attach(device);
  const at = await openAtClient(host, { mode: "at" });
  const quoted = async (command: string) =>
    /"([^"]+)"/.exec((await at.send(command)).lines.join("\n"))?.[1] as string;
  return {
    modem,
    at,
    quoted,
    token: await quoted("AT%ATTESTTOKEN"),
    jwt: () => quoted("AT%JWT=0,300"),
    identity: { deviceUuid: modem.deviceUuid, identityPublicKey: modem.identityPublicKeyPem },
  };
}
