import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseCsvRecords } from "../../src/cloud/index.js";
import { type JournalRecord, parseJournalText } from "../../src/pipeline/index.js";
import type { SimCloud } from "../../src/sim/cloud/index.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const cli = fileURLToPath(new URL("../../bin/nrf-provision.js", import.meta.url));

/** `station --ports <the boards' paths> --ca-dir <caDir> --journal <journal>`, then `options`. */
export function stationArgs(
  boards: readonly { path: string }[],
  caDir: string,
  journal: string,
  ...options: string[]
): string[] {
  const ports = boards.map((board) => board.path).join(",");
  return ["station", "--ports", ports, "--ca-dir", caDir, "--journal", journal, ...options];
}

export interface CliRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The JSONL events on stdout (with --jsonl). */
  events: Array<Record<string, unknown> & { type: string }>;
}

export interface CliRunOptions {
  /** Kill the process itself at this crash point (NRF_PROVISION_TEST_CRASH_AT). */
  crashAt?: string;
  /** Called with each JSONL event as it arrives (e.g. to send a signal). */
  onEvent?: (event: { type: string }, child: ChildProcess) => void;
}

/**
 * Runs the built CLI (`node bin/nrf-provision.js …`, as a user runs it) as a child process.
 * `npm test` builds dist/ first (pretest); run `npm run build` before running a file alone.
 */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: CliRunOptions = {},
): Promise<CliRun> {
  if (!existsSync(new URL("../../dist/cli/run.js", import.meta.url))) {
    throw new Error("dist/ is missing: run `npm run build` first (npm test does it)");
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: repoRoot,
      env: {
        ...process.env,
        ...env,
        ...(options.crashAt === undefined ? {} : { NRF_PROVISION_TEST_CRASH_AT: options.crashAt }),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let pending = "";
    const events: CliRun["events"] = [];
    child.stdout.on("data", (chunk) => {
      stdout += String(chunk);
      pending += String(chunk);
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        let event: CliRun["events"][number];
        try {
          event = JSON.parse(line) as CliRun["events"][number];
        } catch {
          continue; // not an event (e.g. an error report)
        }
        events.push(event);
        options.onEvent?.(event, child);
      }
    });
    child.stderr.on("data", (chunk) => {
      stderr += String(chunk);
    });
    child.once("error", reject);
    child.once("close", (exitCode, signal) =>
      resolve({ exitCode, signal, stdout, stderr, events }),
    );
  });
}

/** The journal's records, checksums verified. */
export async function readJournal(path: string): Promise<JournalRecord[]> {
  return parseJournalText(await readFile(path, "utf8"), path);
}

/** Device IDs of every row uploaded to the simulated cloud with OnboardDevices. */
export function uploadedDeviceIds(cloud: SimCloud): string[] {
  return [...cloud.bulkOps.values()]
    .filter((op) => op.details.endpoint === "ONBOARD_DEVICES")
    .flatMap((op) => parseCsvRecords(op.body).map((record) => record.fields[0]!));
}

/** The station's final summary event (with --jsonl). */
export function summaryOf(run: CliRun): Record<string, unknown> | undefined {
  const end = run.events.find((event) => event.type === "station-end");
  return end?.summary as Record<string, unknown> | undefined;
}
