import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

// The built CLI (`node bin/nrf-provision.js …`, as `npm test` builds it first) in a child
// process: what a user runs, with a real exit code, real stdout/stderr and real signals.

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const cliBin = fileURLToPath(new URL("../../bin/nrf-provision.js", import.meta.url));

export interface ChildOptions {
  cwd?: string;
  /** The whole environment besides PATH and HOME: nothing leaks in from the test runner's. */
  env?: NodeJS.ProcessEnv;
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

function spawnCli(args: string[], options: ChildOptions): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [cliBin, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
    stdio: "pipe",
  });
}

/** A started child's output so far, and its end. */
function track(child: ChildProcessWithoutNullStreams) {
  const output = { out: "", err: "" };
  child.stdout.on("data", (chunk) => {
    output.out += String(chunk);
  });
  child.stderr.on("data", (chunk) => {
    output.err += String(chunk);
  });
  const ended = new Promise<ChildResult>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, ...output }));
  });
  return { output, ended };
}

/** Runs `nrf-provision <args>` to its end (stdin closed at once). */
export function runChild(args: string[], options: ChildOptions = {}): Promise<ChildResult> {
  const child = spawnCli(args, options);
  child.stdin.end();
  return track(child).ended;
}

/** Starts a long-running `nrf-provision <args>` (a simulator); `stop` signals it and waits. */
export function startChild(args: string[], options: ChildOptions = {}) {
  const child = spawnCli(args, options);
  const { output, ended } = track(child);
  return {
    child,
    ended,
    /** Waits until stdout satisfies `done`; fails with the output if the process ends first. */
    async untilStdout(done: (out: string) => boolean): Promise<string> {
      let finished: ChildResult | undefined;
      void ended.then((result) => {
        finished = result;
      });
      while (!done(output.out)) {
        if (finished) {
          throw new Error(
            `exited (${finished.code ?? finished.signal}) first: ${finished.out}${finished.err}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      return output.out;
    },
    async stop(signal: NodeJS.Signals = "SIGINT"): Promise<ChildResult> {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return ended;
    },
  };
}

/** `sim modem … --json` as a child process; resolves once it serves AT on the printed port. */
export async function startSimModemChild(args: string[] = []) {
  const sim = startChild(["sim", "modem", "--json", ...args]);
  const info = JSON.parse(await sim.untilStdout((out) => out.trim().endsWith("}"))) as {
    port: string;
    imei: string;
    deviceUuid: string;
  };
  return { ...sim, ...info };
}
