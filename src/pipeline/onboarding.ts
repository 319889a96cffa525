import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import {
  buildOnboardingCsv,
  type CloudClient,
  type OnboardingRow,
  recordDeviceId,
  splitCsvRecords,
} from "../cloud/index.js";
import { acquireFileLock, FileLockedError } from "../file-lock/index.js";
import { PipelineError } from "./errors.js";
import type { Onboarder, OnboardingOutcome } from "./onboarder.js";

export type { OnboardingRow };
/** Kept here for callers of the pipeline; the CSV module owns it. */
export { splitCsvRecords };

/** `--onboard single`: one OnboardDevice call per board. */
export function onboardEachDevice(cloud: CloudClient): Onboarder {
  return {
    async onboard(row) {
      await cloud.onboardDevice(row);
      return { mode: "single", status: "onboarded" };
    },
  };
}

/**
 * `--onboard csv:FILE`: appends the board's row to an OnboardDevices CSV for a later bulk
 * upload (`nrf-provision cloud onboard --csv FILE`). Earlier rows are never touched, and a
 * device already in the file is refused, unless `replace`: then its old row is swapped for the
 * new one (the file is rewritten through a temporary file, so a crash leaves old or new).
 * `<FILE>.lock` serialises runs that share the file.
 */
export function appendToOnboardingCsv(file: string, options: { replace: boolean }): Onboarder {
  return {
    async onboard(row) {
      const line = buildOnboardingCsv([row])[0]!.body; // validated; one row ending in LF
      // Read, filter and rename under a lock: two runs on the same file would otherwise each
      // write back the rows they read, and one's replacement would undo the other's.
      await mkdir(dirname(file), { recursive: true });
      const unlock = await lockCsv(file);
      try {
        return await appendOrReplace(file, row, line, options.replace);
      } finally {
        await unlock();
      }
    },
  };
}

async function appendOrReplace(
  file: string,
  row: OnboardingRow,
  line: string,
  replace: boolean,
): Promise<OnboardingOutcome> {
  const existing = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return "";
    throw error;
  });
  const records = splitCsvRecords(existing);
  const earlier = records.filter((record) => recordDeviceId(record) === row.deviceId);
  if (earlier.length === 0) {
    // A file whose last row lacks its line break gets one first, so rows never merge.
    const separator = existing === "" || existing.endsWith("\n") ? "" : "\n";
    await appendDurably(file, separator + line);
    return { mode: "csv", file, status: "appended" };
  }
  if (!replace) {
    throw new PipelineError(
      "ERR_PROVISION_CSV_DUPLICATE",
      `the onboarding CSV ${file} already has a row for device ${row.deviceId}; run with --replace to swap it for the new certificate`,
      { details: { file, deviceId: row.deviceId } },
    );
  }
  const kept = records.filter((record) => recordDeviceId(record) !== row.deviceId);
  await replaceDurably(file, kept.join("") + line);
  return { mode: "csv", file, status: "replaced" };
}

async function lockCsv(file: string): Promise<() => Promise<void>> {
  try {
    return await acquireFileLock(`${file}.lock`);
  } catch (error) {
    if (!(error instanceof FileLockedError)) throw error;
    throw new PipelineError(
      "ERR_PROVISION_CSV_LOCKED",
      `the onboarding CSV ${file} stayed locked by ${error.holder ? `process ${error.holder.pid} on ${error.holder.host}` : "another process"} for 30 s; if no nrf-provision is running, delete ${error.lockPath}`,
      { cause: error, details: { file, lockPath: error.lockPath } },
    );
  }
}

async function appendDurably(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeSynced(file, "a", text);
}

async function replaceDurably(file: string, text: string): Promise<void> {
  const temporary = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString("hex")}.tmp`);
  await writeSynced(temporary, "w", text);
  await rename(temporary, file);
}

/** Writes `text` to `file` opened with `flags` and waits until it is on disk. */
async function writeSynced(file: string, flags: "a" | "w", text: string): Promise<void> {
  const handle = await open(file, flags);
  try {
    await handle.write(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
