// The benchmarks' CSRs: laid out as an nRF91 modem's AT%KEYGEN answer, by the simulated modem's
// own builder (src/sim/modem/csr.ts), each with a fresh P-256 key.
import { generateKeyPairSync, randomInt } from "node:crypto";
import { toPem } from "../../src/der/index.js";
import { buildModemCsr } from "../../src/sim/modem/csr.js";

export function modemCsr(deviceId: string): { der: Uint8Array; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const der = buildModemCsr({
    subject: [["CN", deviceId]],
    spki: publicKey.export({ type: "spki", format: "der" }),
    privateKey,
  });
  return { der, pem: toPem("CERTIFICATE REQUEST", der) };
}

/** An IMEI-style device ID as the line gives them (`nrf-` and 15 digits). */
export function randomImeiDeviceId(): string {
  let digits = "";
  for (let i = 0; i < 15; i++) digits += String(randomInt(10));
  return `nrf-${digits}`;
}
