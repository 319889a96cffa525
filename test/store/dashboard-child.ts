/**
 * `line dashboard` as a child process of the built CLI; the browser that looks at it is
 * test/line/dashboard/chromium.ts's.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const cli = fileURLToPath(new URL("../../bin/nrf-provision.js", import.meta.url));

export interface DashboardChild {
  url: string;
  child: ChildProcess;
  /** Sends SIGINT (Ctrl-C) and resolves with the exit code once it is gone. */
  stop(): Promise<number | null>;
  output(): string;
}

/** Starts `nrf-provision line dashboard --store <url> --port 0 …` and reads the address it prints. */
export function startDashboardChild(
  storeUrl: string,
  extra: string[] = [],
): Promise<DashboardChild> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [cli, "line", "dashboard", "--store", storeUrl, "--port", "0", ...extra],
      { cwd: repoRoot, env: process.env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    const closed = new Promise<number | null>((done) => child.once("close", (code) => done(code)));
    const onData = (chunk: Buffer) => {
      output += String(chunk);
      const match = /Line dashboard on (\S+)/.exec(output);
      if (match) {
        resolve({
          url: match[1]!,
          child,
          output: () => output,
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
            return closed;
          },
        });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (chunk) => {
      output += String(chunk);
    });
    child.once("error", reject);
    void closed.then((code) =>
      reject(new Error(`line dashboard exited (${code}) before printing its address: ${output}`)),
    );
  });
}

export { type Browser, launchChromium } from "../line/dashboard/chromium.js";
