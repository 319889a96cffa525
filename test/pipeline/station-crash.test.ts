import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { parseCsvRecords } from "../../src/cloud/index.js";
import { parseJournalText } from "../../src/pipeline/index.js";
import { seededRandom } from "../../src/sim/cloud/random.js";
import { type PtyBoard, usePipelineBench } from "./fixtures.js";
import { stationArgs } from "./station-child.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

interface StationRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  events: number;
}

/**
 * Runs `nrf-provision` (`args`: `station …`) as a child process (from source, through tsx). With `killAfter`,
 * SIGKILLs it `delayMs` after its `killAfter`-th JSONL event: a random point in its work.
 */
function runStationChild(
  args: string[],
  env: NodeJS.ProcessEnv,
  kill?: { afterEvents: number; delayMs: number },
): Promise<StationRun> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      process.execPath,
      ["--import", "tsx", "src/cli/run.ts", ...args],
      { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let events = 0;
    let buffered = "";
    child.stdout?.on("data", (chunk) => {
      buffered += String(chunk);
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      events += lines.length;
      if (kill !== undefined && events >= kill.afterEvents) {
        setTimeout(() => child.kill("SIGKILL"), kill.delayMs);
      }
    });
    child.stderr?.resume();
    child.once("error", reject);
    child.once("exit", (exitCode, signal) => resolve({ exitCode, signal, events }));
  });
}

describe("station killed with SIGKILL at random points and restarted", () => {
  const bench = usePipelineBench({ cloud: { bulkDelayMs: 200 } });
  let boards: PtyBoard[];
  beforeAll(async () => {
    // The boards and the cloud live in this process, so their state outlives each station.
    boards = await bench.startBoards(4, { keygenMs: 300 });
  });

  it("five kills in a row, then a clean run: every board provisioned once and onboarded", async () => {
    const { ca, caDir, cloud, dir, env } = bench;
    const seed = Number(process.env.NRF_PROVISION_CRASH_SEED ?? Date.now() % 100_000);
    const next = seededRandom(seed); // replayable sequence of kill points
    const journal = join(dir, "station.jsonl");
    const args = stationArgs(
      boards,
      caDir,
      journal,
      "--device-id",
      "imei",
      "--concurrency",
      "2",
      "--onboard",
      "batch",
      "--jsonl",
    );

    const runs: StationRun[] = [];
    for (let round = 0; round < 5; round++) {
      const kill = { afterEvents: 1 + Math.floor(next() * 90), delayMs: Math.floor(next() * 40) };
      runs.push(await runStationChild(args, env, kill));
    }
    const final = await runStationChild(args, env);
    const context = `seed ${seed} (rerun with NRF_PROVISION_CRASH_SEED=${seed}); runs ${JSON.stringify(runs)}`;
    expect(final.exitCode, context).toBe(0);
    expect(runs.filter((run) => run.signal === "SIGKILL").length, context).toBeGreaterThanOrEqual(
      3,
    );

    const records = parseJournalText(await readFile(journal, "utf8"), journal);
    const uploaded = [...cloud.bulkOps.values()]
      .filter((op) => op.details.endpoint === "ONBOARD_DEVICES")
      .flatMap((op) => parseCsvRecords(op.body).map((record) => record.fields[0]));
    for (const board of boards) {
      const deviceId = `nrf-${board.modem.imei}`;
      const ledger = await ca.ledger.find({ deviceId });
      expect(ledger, `${deviceId}: ${context}`).toHaveLength(1);
      const onModem = board.modem.credentials().find((c) => c.secTag === 16842753 && c.type === 1);
      expect(onModem?.content, context).toBe(ledger[0]!.pem);
      expect(board.modem.functionalMode).toBe(1);
      // Uploaded once; again only when a kill lost the answer of its upload (the row is sent
      // once more as the check, since FetchDevice cannot show which certificate nRF Cloud holds).
      expect(uploaded.filter((id) => id === deviceId).length, context).toBeGreaterThanOrEqual(1);
      expect(cloud.devices.get(deviceId)?.onboardingPem).toBe(ledger[0]!.pem);
      const mine = records.filter((r) => "deviceId" in r && r.deviceId === deviceId);
      // One key per board: exactly one KEYGEN answer was journaled (a second KEYGEN happens
      // only when the first one's answer was lost, i.e. before any certificate existed).
      expect(
        mine.filter((r) => r.type === "keygen-done"),
        context,
      ).toHaveLength(1);
      expect(mine.some((r) => r.type === "provisioned")).toBe(true);
      expect(
        mine.filter((r) => r.type === "onboarded"),
        context,
      ).toHaveLength(1);
      const issued = mine.filter((r) => r.type === "issued");
      for (const record of issued) {
        if (record.type === "issued") expect(record.certificatePem).toBe(ledger[0]!.pem);
      }
    }
  }, 400_000);
});
