import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, where `bin/nrf-provision.js` runs the built CLI from `dist/`. */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const cliPath = join(repoRoot, "bin", "nrf-provision.js");

/** How a child process ended: its exit code, or the signal that killed it. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The built CLI running as a child process, the way a user runs it. */
export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  out(): string;
  err(): string;
  /** Resolves once `done(output)` holds for stdout (or stderr); rejects if the process ends first. */
  until(done: (output: string) => boolean, stream?: "stdout" | "stderr"): Promise<string>;
  /** Resolves when the process has ended and its output is read. */
  readonly exit: Promise<ProcessExit>;
  /** Whether the process is still running. */
  running(): boolean;
  /** Ends it (SIGKILL) if it still runs; for test clean-up. */
  kill(): Promise<void>;
}

/**
 * Starts `node bin/nrf-provision.js <args>`. The CLI must be built (`npm test` builds it first;
 * `npm run build` before running one test file).
 */
export function spawnCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): CliProcess {
  if (!existsSync(join(repoRoot, "dist", "cli", "run.js"))) {
    throw new Error("the CLI is not built: run `npm run build` (npm test does it)");
  }
  const child = spawn(process.execPath, [cliPath, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = { stdout: "", stderr: "" };
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };
  child.stdout?.on("data", (chunk) => {
    output.stdout += String(chunk);
    wake();
  });
  child.stderr?.on("data", (chunk) => {
    output.stderr += String(chunk);
    wake();
  });
  let ended: ProcessExit | undefined;
  const exit = new Promise<ProcessExit>((resolve, reject) => {
    child.once("error", reject);
    // "close", not "exit": all output has been read by then.
    child.once("close", (code, signal) => {
      ended = { code, signal };
      resolve(ended);
      wake();
    });
  });
  exit.catch(() => {});
  const until = (done: (output: string) => boolean, stream: "stdout" | "stderr" = "stdout") =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        if (done(output[stream])) {
          waiters.delete(check);
          resolve(output[stream]);
        } else if (ended !== undefined) {
          waiters.delete(check);
          reject(
            new Error(
              `nrf-provision ${args.join(" ")} ended (${ended.code ?? ended.signal}) before the expected ${stream}:\n` +
                `stdout: ${output.stdout}\nstderr: ${output.stderr}`,
            ),
          );
        }
      };
      waiters.add(check);
      check();
    });
  return {
    child,
    pid: child.pid ?? -1,
    out: () => output.stdout,
    err: () => output.stderr,
    until,
    exit,
    running: () => ended === undefined,
    kill: async () => {
      if (ended !== undefined) return;
      child.kill("SIGKILL");
      await exit.catch(() => {});
    },
  };
}

/** The one JSON document a `--json` long-running command prints first (e.g. `sim cloud`). */
export async function firstJson<T>(cli: CliProcess): Promise<T> {
  const text = await cli.until((out) => out.trim().endsWith("}"));
  return JSON.parse(text) as T;
}

/** The JSON lines printed so far by `--jsonl`, parsed. */
export function jsonLines(text: string): Array<Record<string, unknown> & { type: string }> {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line));
}
