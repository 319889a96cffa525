import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { parseKeygenOutput } from "../attest/index.js";
import { NrfProvisionError } from "../errors/index.js";
import type { CertificateAuthority } from "./authority.js";
import {
  type CertificateBuilder,
  type IssuedCertificate,
  type IssueOptions,
  ledgerEntry,
  type PreparedCertificate,
  prepareCertificate,
} from "./issue.js";

/** One thing to issue a certificate for; `label` names it in reports (file:line …). */
export interface BatchItem {
  label: string;
  input: { kind: "csr"; der: Uint8Array } | { kind: "keygen"; text: string };
}

export type BatchResult =
  | { label: string; ok: true; certificate: IssuedCertificate }
  | { label: string; ok: false; error: { code: string; message: string } };

export interface BatchOptions extends Omit<IssueOptions, "deviceId" | "source"> {
  /** Worker threads (default: available cores). 1, or a non-Node WebCrypto provider, runs in-process. */
  workers?: number;
  /** Called as each result is final (certificate in the ledger), in completion order. */
  onResult?: (result: BatchResult, index: number) => void;
}

/** Items per message to a worker: large enough to amortise messaging, small enough to balance. */
const CHUNK_SIZE = 64;
/** In-process signing lets the event loop run the ledger's I/O this often (items). */
const YIELD_EVERY = 16;
/** Signed certificates allowed to wait for the ledger at once. */
const MAX_UNRECORDED = 1024;

/**
 * Issues certificates for many inputs, one failure not stopping the rest. Parsing, checking
 * and signing run in worker threads (each holds the CA KeyObject, passed in memory); the
 * ledger stays in this thread, so group commit batches the appends of all workers.
 */
export async function issueBatch(
  ca: CertificateAuthority,
  items: readonly BatchItem[],
  options: BatchOptions = {},
): Promise<BatchResult[]> {
  const workers = Math.min(
    options.workers ?? availableParallelism(),
    Math.ceil(items.length / CHUNK_SIZE),
  );
  const results: BatchResult[] = new Array(items.length);
  const record = async (index: number, outcome: Outcome): Promise<void> => {
    const label = items[index]!.label;
    let result: BatchResult;
    if ("error" in outcome) {
      result = { label, ok: false, error: outcome.error };
    } else {
      try {
        const { certificate, source } = outcome.prepared;
        await ca.ledger.append(ledgerEntry(certificate, ca.clock(), source));
        result = { label, ok: true, certificate };
      } catch (error) {
        result = { label, ok: false, error: describeFailure(error) };
      }
    }
    results[index] = result;
    options.onResult?.(result, index);
  };
  if (workers <= 1 || !ca.usesNodeCrypto) {
    await issueInProcess(ca, items, options, record);
  } else {
    await issueInWorkers(ca, items, options, workers, record);
  }
  return results;
}

type Outcome = { prepared: PreparedCertificate } | { error: { code: string; message: string } };

/** Runs one item: what both the in-process path and the worker do. */
export async function prepareBatchItem(
  builder: CertificateBuilder,
  item: BatchItem,
  options: IssueOptions,
): Promise<Outcome> {
  try {
    const input = item.input.kind === "csr" ? item.input.der : parseKeygenOutput(item.input.text);
    return { prepared: await prepareCertificate(builder, input, options) };
  } catch (error) {
    return { error: describeFailure(error) };
  }
}

function describeFailure(error: unknown): { code: string; message: string } {
  if (error instanceof NrfProvisionError) return { code: error.code, message: error.message };
  return {
    code: "ERR_UNEXPECTED",
    message: error instanceof Error ? error.message : String(error),
  };
}

async function issueInProcess(
  ca: CertificateAuthority,
  items: readonly BatchItem[],
  options: BatchOptions,
  record: (index: number, outcome: Outcome) => Promise<void>,
): Promise<void> {
  // Signing does not wait for the ledger: while one group commit is on its way to disk, the
  // next certificates are being built (bounded, so a slow disk cannot pile up memory).
  // Signing only awaits resolved promises, which never lets the event loop reach the ledger's
  // file I/O; yielding every few items does, so each commit's write and fsync (on libuv's
  // threads) overlap with signing the next group instead of stalling it.
  const unrecorded = new Set<Promise<void>>();
  for (const [index, item] of items.entries()) {
    const recorded: Promise<void> = record(
      index,
      await prepareBatchItem(ca, item, issueOptions(options)),
    );
    unrecorded.add(recorded);
    void recorded.finally(() => unrecorded.delete(recorded));
    if (unrecorded.size >= MAX_UNRECORDED) await Promise.race(unrecorded);
    else if (index % YIELD_EVERY === YIELD_EVERY - 1) await new Promise(setImmediate);
  }
  await Promise.all(unrecorded);
}

/** The message protocol with batch-worker.ts. */
export interface WorkerSetup {
  info: CertificateAuthority["info"];
  ca: { subjectDer: Uint8Array; subjectKeyIdentifier: Uint8Array };
  privateKey: CertificateAuthority["privateKey"];
  options: IssueOptions;
}
export interface WorkerJob {
  indexes: number[];
  items: BatchItem[];
}
export interface WorkerReply {
  indexes: number[];
  outcomes: Outcome[];
}

async function issueInWorkers(
  ca: CertificateAuthority,
  items: readonly BatchItem[],
  options: BatchOptions,
  count: number,
  record: (index: number, outcome: Outcome) => Promise<void>,
): Promise<void> {
  const chunks: WorkerJob[] = [];
  for (let start = 0; start < items.length; start += CHUNK_SIZE) {
    const indexes = Array.from(
      { length: Math.min(CHUNK_SIZE, items.length - start) },
      (_, i) => start + i,
    );
    chunks.push({ indexes, items: indexes.map((i) => items[i]!) });
  }
  const setup: WorkerSetup = {
    info: ca.info,
    ca: {
      subjectDer: ca.template.ca.subjectDer,
      subjectKeyIdentifier: ca.template.ca.subjectKeyIdentifier,
    },
    privateKey: ca.privateKey,
    options: issueOptions(options),
  };
  const pending: Promise<void>[] = [];
  const runWorker = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = spawnBatchWorker();
      const sendNext = () => {
        const job = chunks.shift();
        if (job) worker.postMessage(job);
        else void worker.terminate().then(() => resolve());
      };
      worker.on("message", (reply: WorkerReply) => {
        reply.indexes.forEach((index, i) => {
          pending.push(record(index, reply.outcomes[i]!));
        });
        sendNext();
      });
      worker.once("error", reject);
      worker.postMessage(setup);
      sendNext();
    });
  await Promise.all(Array.from({ length: count }, runWorker));
  await Promise.all(pending);
}

function issueOptions(options: BatchOptions): IssueOptions {
  return {
    ...(options.days === undefined ? {} : { days: options.days }),
    ...(options.profile === undefined ? {} : { profile: options.profile }),
  };
}

/**
 * The worker module: batch-worker.js when built. When running from source (tsx, vitest) the
 * worker is the .ts file, loaded after registering tsx's loader inside the worker.
 */
function spawnBatchWorker(): Worker {
  if (!import.meta.url.endsWith(".ts"))
    return new Worker(new URL("./batch-worker.js", import.meta.url));
  // require.resolve gives the CommonJS build; its ESM sibling is the one that registers correctly.
  const loader = createRequire(import.meta.url)
    .resolve("tsx/esm/api")
    .replace(/\.cjs$/, ".mjs");
  const worker = new URL("./batch-worker.ts", import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(pathToFileURL(loader).href)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(worker)}); });`;
  return new Worker(bootstrap, { eval: true });
}
