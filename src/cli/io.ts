import { resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { CliError } from "./errors.js";

/** Everything a command touches outside the process, injected so tests run commands in-process. */
export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  /** Whether stdout is an interactive terminal (live views, prompts). */
  isTTY: boolean;
  cwd: string;
  /** Resolves when the user interrupts (Ctrl-C / SIGTERM); long-running commands race it. */
  interrupted: Promise<void>;
  /**
   * Like `interrupted`, and also on SIGHUP (the terminal was closed): for commands that end
   * only by a signal or must clean up however they end (simulators, demo). Not the station:
   * under `nohup` it must not stop when the terminal closes.
   */
  stopped: Promise<void>;
}

/** Signals as a promise, with a way to stop listening. */
export interface InterruptSignal {
  /** Resolves on the first of its signals after it was first read. */
  readonly promise: Promise<void>;
  /** Removes the signal listeners, if any were installed. Idempotent. */
  dispose(): void;
}

const interruptSignals: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"];
const stopSignals: readonly NodeJS.Signals[] = [...interruptSignals, "SIGHUP"];

/**
 * Listens for `signals` (SIGINT, SIGTERM) only once `promise` is first read: a listener
 * replaces Node's default "exit on Ctrl-C", so commands that never race `interrupted` keep that
 * default. After the first signal the listeners are gone (a second Ctrl-C exits the process).
 */
export function interruptSignal(
  target: NodeJS.EventEmitter = process,
  signals: readonly NodeJS.Signals[] = interruptSignals,
): InterruptSignal {
  let promise: Promise<void> | undefined;
  let onSignal: (() => void) | undefined;
  const dispose = () => {
    if (onSignal === undefined) return;
    for (const signal of signals) target.off(signal, onSignal);
    onSignal = undefined;
  };
  return {
    get promise() {
      promise ??= new Promise<void>((resolve) => {
        onSignal = () => {
          dispose();
          resolve();
        };
        for (const signal of signals) target.on(signal, onSignal);
      });
      return promise;
    },
    dispose,
  };
}

/** Parts of `CliIo` to replace; a key whose value is undefined replaces nothing. */
export type CliIoOverrides = { [K in keyof CliIo]?: CliIo[K] | undefined };

/**
 * The real process's I/O with `overrides` on top. Unless `interrupted` is overridden it is
 * backed by signal listeners, installed when a command first reads it; `dispose` removes them
 * (call it when the run ends, so repeated in-process runs do not pile up listeners).
 */
export function processIo(given: CliIoOverrides = {}): { io: CliIo; dispose(): void } {
  // An override given as undefined is no override: the process's own value stays.
  const overrides = Object.fromEntries(
    Object.entries(given).filter(([, value]) => value !== undefined),
  ) as Partial<CliIo>;
  const base = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    isTTY: Boolean(process.stdout.isTTY),
    cwd: process.cwd(),
  };
  if (overrides.interrupted !== undefined) {
    const { interrupted } = overrides;
    return {
      io: { ...base, ...overrides, interrupted, stopped: overrides.stopped ?? interrupted },
      dispose: () => {},
    };
  }
  const interrupt = interruptSignal();
  const stop = interruptSignal(process, stopSignals);
  const io = Object.defineProperties(
    { ...base, ...overrides },
    {
      interrupted: { get: () => interrupt.promise, enumerable: true },
      stopped: { get: () => stop.promise, enumerable: true },
    },
  ) as CliIo;
  return {
    io,
    dispose: () => {
      interrupt.dispose();
      stop.dispose();
    },
  };
}

const unreadableReasons: Record<string, string> = {
  ENOENT: "no such file",
  EISDIR: "it is a directory, not a file",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ENOTDIR: "a part of the path is not a directory",
  ELOOP: "too many symbolic links",
};

/**
 * Reads an input file named by `flag` (relative to the working directory), at most the size
 * cap of src/files (`ERR_IO_TOO_LARGE` above it). A missing or unreadable file is a usage
 * error (`ERR_INPUT_FILE`, exit 2) naming the flag and the file.
 */
export async function readInputFile(io: CliIo, flag: string, file: string): Promise<Buffer> {
  const path = resolve(io.cwd, file);
  // Loaded here, not at start-up: src/files brings node:crypto, which most runs never need.
  const { FileError, readInputFile: readBoundedFile } = await import("../files/index.js");
  try {
    return await readBoundedFile(path, { what: `${flag} file` });
  } catch (thrown) {
    if (thrown instanceof FileError && thrown.code !== "ERR_IO_READ") throw thrown;
    const error = thrown instanceof FileError ? thrown.cause : thrown;
    const errno = (error as NodeJS.ErrnoException).code;
    const known = errno === undefined ? undefined : unreadableReasons[errno];
    const reason = known === undefined ? (error as Error).message : `${known} (${errno})`;
    throw new CliError(
      "ERR_INPUT_FILE",
      `cannot read ${flag} ${file}: ${reason}. ` +
        `Check the path (relative to ${io.cwd}); nothing was done.`,
      { cause: error, details: { option: flag, file: path, errno: errno ?? null } },
    );
  }
}

/** {@link readInputFile} as UTF-8 text. */
export async function readInputText(io: CliIo, flag: string, file: string): Promise<string> {
  return (await readInputFile(io, flag, file)).toString("utf8");
}
