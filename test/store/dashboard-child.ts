/**
 * `line dashboard` as a child process of the built CLI, and Debian's chromium (never a downloaded
 * one) driven by playwright-core to look at it, launched as test/line/dashboard/browser.test.ts does.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";
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

export interface Browser {
  page: Page;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`);
  }
  const userDataDir = await mkdtemp(join(tmpdir(), "nrf-provision-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1400, height: 1000 },
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    page,
    close: async () => {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
