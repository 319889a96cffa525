import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openAtClient } from "../../src/at/index.js";
import { type CertificateAuthority, initCa, loadCa } from "../../src/ca/index.js";
import type { BoardConnection } from "../../src/pipeline/index.js";
import { openSerialTransport } from "../../src/serial/index.js";
import { type SimModemOptions, startSimModemOnPty } from "../../src/sim/modem/index.js";
import { captureIo as captureCliIo } from "../cli/harness.js";

export const passphrase = "pipeline-test-passphrase";

/** A temporary directory, removed by the returned cleanup. */
export async function tempDir(prefix = "nrf-provision-pipeline-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** A fresh CA in `dir`/ca, loaded. */
export async function createTestCa(
  dir: string,
): Promise<{ ca: CertificateAuthority; caDir: string }> {
  const caDir = join(dir, "ca");
  await initCa({ dir: caDir, passphrase, commonName: "pipeline test CA" });
  return { ca: await loadCa({ dir: caDir, passphrase }), caDir };
}

export type PtyBoard = Awaited<ReturnType<typeof startSimModemOnPty>>;

/** Simulated boards on real pseudo-terminals (socat). */
export async function startPtyBoards(
  count: number,
  options: SimModemOptions = {},
): Promise<PtyBoard[]> {
  return Promise.all(Array.from({ length: count }, () => startSimModemOnPty(options)));
}

/** How the station and `provision` reach a board: the real serial transport on its PTY. */
export function serialConnection(path: string): BoardConnection {
  return { port: path, open: async () => openAtClient(await openSerialTransport(path)) };
}

/** In-process CLI I/O that records what was written (`env` empty unless given). */
export function captureIo(env: NodeJS.ProcessEnv = {}, cwd = process.cwd()) {
  return captureCliIo({ env, cwd });
}
