import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { openAtClient } from "../../src/at/index.js";
import { type CertificateAuthority, initCa, loadCa } from "../../src/ca/index.js";
import { type BoardConnection, loadRootCaBundle } from "../../src/pipeline/index.js";
import { openSerialTransport } from "../../src/serial/index.js";
import { type SimCloud, type SimCloudOptions, startSimCloud } from "../../src/sim/cloud/index.js";
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

export interface PipelineBenchOptions {
  /** Options of the bench's simulated nRF Cloud, or `false` for a bench without one. */
  cloud?: SimCloudOptions | false;
}

/**
 * What most pipeline tests share: a temporary directory, a CA in it (open), a simulated nRF
 * Cloud, the root CA bundle, and PTY boards started through `startBoards`; all of it is
 * closed and removed after the file's tests.
 */
export interface PipelineBench {
  readonly dir: string;
  readonly ca: CertificateAuthority;
  readonly caDir: string;
  readonly cloud: SimCloud;
  readonly rootCaPem: string;
  /** CLI environment: CA passphrase, and the simulated cloud's API key and URL. */
  readonly env: NodeJS.ProcessEnv;
  /** Simulated boards on PTYs, closed with the bench. */
  startBoards(count: number, options?: SimModemOptions): Promise<PtyBoard[]>;
}

/** Registers `beforeAll`/`afterAll` hooks that set up and tear down a {@link PipelineBench}. */
export function usePipelineBench(options: PipelineBenchOptions = {}): PipelineBench {
  let started:
    | {
        dir: string;
        ca: CertificateAuthority;
        caDir: string;
        cloud?: SimCloud | undefined;
        rootCaPem: string;
      }
    | undefined;
  const boards: PtyBoard[] = [];
  const setUp = () => {
    if (!started) throw new Error("the pipeline bench is used before beforeAll ran");
    return started;
  };
  beforeAll(async () => {
    const dir = await tempDir();
    const { ca, caDir } = await createTestCa(dir);
    const cloud = options.cloud === false ? undefined : await startSimCloud(options.cloud ?? {});
    started = { dir, ca, caDir, cloud, rootCaPem: await loadRootCaBundle() };
  });
  afterAll(async () => {
    await Promise.all(boards.splice(0).map((board) => board.close()));
    await started?.cloud?.close();
    await started?.ca.close();
    if (started) await removeDir(started.dir);
  });
  return {
    get dir() {
      return setUp().dir;
    },
    get ca() {
      return setUp().ca;
    },
    get caDir() {
      return setUp().caDir;
    },
    get cloud() {
      const { cloud } = setUp();
      if (!cloud) throw new Error("this pipeline bench has no simulated cloud");
      return cloud;
    },
    get rootCaPem() {
      return setUp().rootCaPem;
    },
    get env() {
      const { cloud } = setUp();
      return {
        NRF_PROVISION_CA_PASSPHRASE: passphrase,
        ...(cloud ? { NRF_CLOUD_API_KEY: cloud.apiKey, NRF_CLOUD_BASE_URL: cloud.baseUrl } : {}),
      };
    },
    async startBoards(count, boardOptions = {}) {
      const started = await startPtyBoards(count, boardOptions);
      boards.push(...started);
      return started;
    },
  };
}
