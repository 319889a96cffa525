import type { Readable, Writable } from "node:stream";

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
}

export function processIo(): CliIo {
  const interrupted = new Promise<void>((resolve) => {
    const onSignal = () => resolve();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    isTTY: Boolean(process.stdout.isTTY),
    cwd: process.cwd(),
    interrupted,
  };
}
