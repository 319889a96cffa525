import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SimModemOptions } from "../../../src/sim/modem/index.js";
import { simModemOnMemory } from "../../sim-link.js";
import { LineReader } from "./line-reader.js";

/**
 * A simulated modem on an in-memory link, driven by the minimal test line reader. Without URCs
 * unless asked (`urcs`), so exact answers can be compared; the URC tests turn them on.
 */
export function connectSim(options: SimModemOptions = {}) {
  const link = simModemOnMemory({ urcs: "none", ...options });
  return { ...link, reader: new LineReader(link.host) };
}

/** `openssl req -verify` on a CSR PEM (OpenSSL 3 prints the verdict on stderr). */
export function opensslVerifiesCsr(pem: string): boolean {
  const file = join(mkdtempSync(join(tmpdir(), "nrfp-sim-csr-")), "csr.pem");
  writeFileSync(file, pem);
  const result = spawnSync("openssl", ["req", "-in", file, "-verify", "-noout"], {
    encoding: "utf8",
  });
  return result.status === 0 && /verify OK/i.test(result.stdout + result.stderr);
}
