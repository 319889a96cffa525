import { type ChildProcess, spawn } from "node:child_process";
import { access, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A socat pseudo-terminal pair: bytes written to one link path come out of the other. */
export interface PtyPair {
  a: string;
  b: string;
  process: ChildProcess;
  /** Kills socat: both PTYs vanish, like an unplugged board. */
  kill(): Promise<void>;
}

export async function startPtyPair(): Promise<PtyPair> {
  const dir = await mkdtemp(join(tmpdir(), "nrf-pty-"));
  const a = join(dir, "host");
  const b = join(dir, "modem");
  const child = spawn("socat", [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: "ignore",
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  for (;;) {
    const ready = await Promise.all([access(a), access(b)]).then(
      () => true,
      () => false,
    );
    if (ready) break;
    if (child.exitCode !== null) throw new Error("socat exited before creating the PTYs");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return {
    a,
    b,
    process: child,
    kill: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
