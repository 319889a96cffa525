import { once } from "node:events";
import { PassThrough, Readable } from "node:stream";
import type { CliIoOverrides } from "../../src/cli/io.js";
import { runCli } from "../../src/cli/main.js";

/** What one in-process CLI run produced. */
export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** I/O overrides for a run, plus `input`: text the command reads on stdin. */
export type CliRunOptions = CliIoOverrides & { input?: string | undefined };

export interface CapturedIo {
  io: CliIoOverrides & { stdout: PassThrough; stderr: PassThrough };
  out(): string;
  err(): string;
}

/**
 * In-process CLI I/O that records stdout and stderr. Not a TTY and never interrupted unless
 * `overrides` say otherwise; `env` and `cwd` are the process's unless given.
 */
export function captureIo(options: CliRunOptions = {}): CapturedIo {
  const { input, ...overrides } = options;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on("data", (chunk) => out.push(String(chunk)));
  stderr.on("data", (chunk) => err.push(String(chunk)));
  return {
    io: {
      isTTY: false,
      interrupted: new Promise<void>(() => {}),
      ...(input === undefined ? {} : { stdin: Readable.from([input]) }),
      ...overrides,
      stdout,
      stderr,
    },
    out: () => out.join(""),
    err: () => err.join(""),
  };
}

/** Runs `nrf-provision <argv>` in-process and returns the exit code and what it wrote. */
export async function runCliCaptured(
  argv: string[],
  options: CliRunOptions = {},
): Promise<CliResult> {
  const capture = captureIo(options);
  const code = await runCli(argv, capture.io);
  return { code, out: capture.out(), err: capture.err() };
}

/** A runner with fixed options (env, cwd …); per-call options go on top. */
export function cliRunner(defaults: CliRunOptions) {
  return (argv: string[], options: CliRunOptions = {}) =>
    runCliCaptured(argv, { ...defaults, ...options });
}

/**
 * Starts a long-running command (`sim cloud`, `sim modem`, `station --watch`) in-process;
 * `interrupt()` is its Ctrl-C, `exit` its exit code. Unless `options.interrupted` is given.
 */
export function startCli(argv: string[], options: CliRunOptions = {}) {
  let interrupt = () => {};
  const interrupted = new Promise<void>((resolve) => {
    interrupt = resolve;
  });
  const capture = captureIo({ interrupted, ...options });
  const exit = runCli(argv, capture.io);
  /** Waits until stdout satisfies `done` (fails if the command exits first); returns stdout. */
  const untilOutput = async (done: (out: string) => boolean): Promise<string> => {
    const exited = exit.then((code) => {
      throw new Error(
        `exited (${code}) before the expected output: ${capture.out()}${capture.err()}`,
      );
    });
    exited.catch(() => {});
    while (!done(capture.out())) await Promise.race([once(capture.io.stdout, "data"), exited]);
    return capture.out();
  };
  return { ...capture, exit, interrupt, untilOutput };
}

/** stdout parsed as the one JSON document `--json` prints; the output is in the failure. */
export function jsonOutput(result: CliResult): ReturnType<typeof JSON.parse> {
  try {
    return JSON.parse(result.out);
  } catch (error) {
    throw new Error(
      `stdout is not one JSON document (exit ${result.code}): ${(error as Error).message}\n` +
        `stdout: ${result.out}\nstderr: ${result.err}`,
    );
  }
}
