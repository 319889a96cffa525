import { availableParallelism } from "node:os";
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
  /**
   * Signing threads (default: available cores): this thread plus `workers - 1` worker threads.
   * 1, or a non-Node WebCrypto provider, signs in this thread only.
   */
  workers?: number | undefined;
  /** Called as each result is final (certificate in the ledger), in completion order. */
  onResult?: (result: BatchResult, index: number) => void;
  /**
   * Starts one signing worker (default: the built batch-worker.js beside this module). Code run
   * from source passes its own, e.g. one that loads batch-worker.ts through a TypeScript loader.
   */
  startWorker?: () => Worker;
}

/** Items per message to a worker: large enough to amortise messaging, small enough to balance. */
const CHUNK_SIZE = 64;
/** Items this thread takes at a time when it signs alongside workers (keeps their replies flowing). */
const LOCAL_CHUNK_SIZE = 16;
/** Jobs queued per worker, so it never idles while this thread is busy signing. */
const JOBS_PER_WORKER = 2;
/** Signing in this thread lets the event loop run (ledger I/O, worker replies) this often. */
const YIELD_EVERY = 16;
/** Signed certificates allowed to wait for the ledger at once. */
const MAX_UNRECORDED = 1024;

/**
 * Issues certificates for many inputs, one failure not stopping the rest. Parsing, checking
 * and signing run in this thread and in worker threads (each holds the CA KeyObject, passed
 * in memory), all taking chunks from one queue, so this thread starts at once while workers
 * boot. The ledger stays in this thread, so group commit batches the appends of all of them.
 */
export async function issueBatch(
  ca: CertificateAuthority,
  items: readonly BatchItem[],
  options: BatchOptions = {},
): Promise<BatchResult[]> {
  const threads = ca.usesNodeCrypto
    ? Math.min(options.workers ?? availableParallelism(), Math.ceil(items.length / CHUNK_SIZE))
    : 1;
  const results: BatchResult[] = new Array(items.length);
  const unrecorded = new Set<Promise<void>>();
  const record = (index: number, outcome: Outcome): Promise<void> => {
    const recorded = recordOutcome(ca, items[index]!.label, outcome).then((result) => {
      results[index] = result;
      unrecorded.delete(recorded);
      options.onResult?.(result, index);
    });
    unrecorded.add(recorded);
    return recorded;
  };
  const queue = new ChunkQueue(items.length);
  const issueOptions = issueOptionsOf(options);
  await Promise.all([
    signInThisThread(ca, items, queue, issueOptions, threads > 1, record, unrecorded),
    ...(threads > 1
      ? [
          runWorkers(
            ca,
            items,
            queue,
            issueOptions,
            threads - 1,
            record,
            options.startWorker ?? startBuiltWorker,
          ),
        ]
      : []),
  ]);
  await Promise.all(unrecorded);
  return results;
}

type Outcome = { prepared: PreparedCertificate } | { error: { code: string; message: string } };

async function recordOutcome(
  ca: CertificateAuthority,
  label: string,
  outcome: Outcome,
): Promise<BatchResult> {
  if ("error" in outcome) return { label, ok: false, error: outcome.error };
  try {
    const { certificate, source } = outcome.prepared;
    await ca.ledger.append(ledgerEntry(certificate, ca.clock(), source, ca.info));
    return { label, ok: true, certificate };
  } catch (error) {
    return { label, ok: false, error: describeFailure(error) };
  }
}

/** Hands out consecutive index ranges of the batch to whoever asks next. */
class ChunkQueue {
  #next = 0;
  readonly #length: number;
  readonly #drained: Array<() => void> = [];
  constructor(length: number) {
    this.#length = length;
  }
  take(size: number): { start: number; end: number } | null {
    if (this.#next >= this.#length) {
      for (const listener of this.#drained.splice(0)) listener();
      return null;
    }
    const start = this.#next;
    this.#next = Math.min(start + size, this.#length);
    return { start, end: this.#next };
  }
  /** Called once, when someone finds the queue empty. */
  onDrained(listener: () => void): void {
    this.#drained.push(listener);
  }
}

/** Runs one item: what both this thread and the workers do. */
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

async function signInThisThread(
  ca: CertificateAuthority,
  items: readonly BatchItem[],
  queue: ChunkQueue,
  options: IssueOptions,
  withWorkers: boolean,
  record: (index: number, outcome: Outcome) => Promise<void>,
  unrecorded: Set<Promise<void>>,
): Promise<void> {
  // Signing only awaits resolved promises, which never lets the event loop reach the ledger's
  // file I/O or the workers' replies; yielding every few items does, so each commit's write
  // and fsync (on libuv's threads) overlap with signing instead of stalling it.
  let signed = 0;
  const size = withWorkers ? LOCAL_CHUNK_SIZE : CHUNK_SIZE;
  for (let chunk = queue.take(size); chunk; chunk = queue.take(size)) {
    for (let index = chunk.start; index < chunk.end; index++) {
      void record(index, await prepareBatchItem(ca, items[index]!, options));
      if (unrecorded.size >= MAX_UNRECORDED) await Promise.race(unrecorded);
      else if (++signed % YIELD_EVERY === 0) await new Promise(setImmediate);
    }
  }
}

/** The message protocol with batch-worker.ts. */
export interface WorkerSetup {
  info: CertificateAuthority["info"];
  ca: { subjectDer: Uint8Array; subjectKeyIdentifier: Uint8Array };
  privateKey: CertificateAuthority["privateKey"];
  options: IssueOptions;
}
export interface WorkerJob {
  start: number;
  items: BatchItem[];
  /** The CA's clock when the job was sent (ms): workers sign with the injected clock's time. */
  now: number;
}
export interface WorkerReady {
  ready: true;
}
export interface WorkerReply {
  start: number;
  outcomes: Outcome[];
}

async function runWorkers(
  ca: CertificateAuthority,
  items: readonly BatchItem[],
  queue: ChunkQueue,
  options: IssueOptions,
  count: number,
  record: (index: number, outcome: Outcome) => Promise<void>,
  startWorker: () => Worker,
): Promise<void> {
  const setup: WorkerSetup = {
    info: ca.info,
    ca: {
      subjectDer: ca.template.ca.subjectDer,
      subjectKeyIdentifier: ca.template.ca.subjectKeyIdentifier,
    },
    privateKey: ca.privateKey,
    options,
  };
  const runWorker = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = startWorker();
      let inFlight = 0;
      let finished = false;
      const finishIfIdle = () => {
        if (inFlight > 0 || finished) return;
        finished = true;
        void worker.terminate().then(() => resolve());
      };
      const sendNext = () => {
        const chunk = finished ? null : queue.take(CHUNK_SIZE);
        if (!chunk) return finishIfIdle();
        const job: WorkerJob = {
          start: chunk.start,
          items: items.slice(chunk.start, chunk.end),
          now: ca.clock().getTime(),
        };
        worker.postMessage(job);
        inFlight++;
      };
      // A small batch may be done before the worker has even booted: stop it then.
      queue.onDrained(finishIfIdle);
      worker.on("message", (message: WorkerReply | WorkerReady) => {
        // Jobs go out only once the worker is ready: until then this thread keeps signing them.
        if ("ready" in message) {
          for (let i = 0; i < JOBS_PER_WORKER; i++) sendNext();
          return;
        }
        inFlight--;
        message.outcomes.forEach((outcome, i) => {
          void record(message.start + i, outcome);
        });
        sendNext();
      });
      worker.once("error", reject);
      worker.postMessage(setup);
    });
  await Promise.all(Array.from({ length: count }, runWorker));
}

function issueOptionsOf(options: BatchOptions): IssueOptions {
  return {
    days: options.days,
    profile: options.profile,
  };
}

/** The built worker module beside this one (dist/ca/batch-worker.js). */
function startBuiltWorker(): Worker {
  return new Worker(new URL("./batch-worker.js", import.meta.url));
}
