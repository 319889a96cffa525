import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimCloud, startSimCloud } from "../../src/sim/cloud/index.js";
import { cliPath, repoRoot } from "../cli/process.js";
import { type PtyBoard, passphrase, removeDir, startPtyBoards, tempDir } from "./fixtures.js";

/**
 * Runs the script in its own process group; `whenRunning(group)` may then signal the group,
 * as a terminal's Ctrl-C does (every process of the foreground job gets SIGINT).
 */
function runScript(
  env: NodeJS.ProcessEnv,
  whenRunning?: (group: number) => Promise<void>,
): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["scripts/station-example.sh"], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    whenRunning?.(child.pid ?? 0).catch(reject);
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += String(chunk);
    });
    child.stderr.on("data", (chunk) => {
      output += String(chunk);
    });
    child.once("error", reject);
    child.once("exit", (status) => resolve({ status, output }));
  });
}

describe("scripts/station-example.sh against the simulators", () => {
  let dir: string;
  let cloud: SimCloud;
  let good: PtyBoard[];
  let bad: PtyBoard;

  beforeAll(async () => {
    dir = await tempDir();
    cloud = await startSimCloud({ port: 0, bulkDelayMs: 50 });
    good = await startPtyBoards(2);
    [bad] = (await startPtyBoards(1, { firmware: "mfw_nrf9160_1.2.3" })) as [PtyBoard];
  });
  afterAll(async () => {
    await Promise.all([...(good ?? []), ...(bad ? [bad] : [])].map((board) => board.close()));
    await cloud?.close();
    await removeDir(dir);
  });

  it("creates the CA, reports a failed board with exit 6, and finishes on the rerun with exit 0", async () => {
    const env = {
      NRF_PROVISION: `node ${cliPath}`,
      STATION_DIR: dir,
      BATCH: "test",
      NRF_PROVISION_CA_PASSPHRASE: passphrase,
      NRF_CLOUD_API_KEY: cloud.apiKey,
      NRF_CLOUD_BASE_URL: cloud.baseUrl,
    };
    const first = await runScript({
      ...env,
      PORTS: [...good, bad].map((board) => board.path).join(","),
    });
    expect(first.status, first.output).toBe(6);
    expect(first.output).toContain(`creating the CA in ${join(dir, "ca")}`);
    expect(first.output).toContain("some boards FAILED");
    expect(first.output).toContain("ERR_MODEM_FIRMWARE_TOO_OLD");
    expect(existsSync(join(dir, "ca", "ca.pem"))).toBe(true);
    for (const board of good) expect(cloud.devices.has(`nrf-${board.modem.imei}`)).toBe(true);

    const rerun = await runScript({ ...env, PORTS: good.map((board) => board.path).join(",") });
    expect(rerun.status, rerun.output).toBe(0);
    expect(rerun.output).toContain("all boards provisioned and onboarded");
    expect(rerun.output).not.toContain("creating the CA");
    expect(existsSync(join(dir, "journal-test.jsonl"))).toBe(true);
    expect(existsSync(join(dir, "devices", `nrf-${good[0]!.modem.imei}`, "device.json"))).toBe(
      true,
    );
  }, 240_000);

  it("WATCH=1: runs until Ctrl-C, then reports what the station did and exits 130", async () => {
    const [board] = good;
    const log = join(dir, "watch.log");
    const result = await runScript(
      {
        NRF_PROVISION: `node ${cliPath}`,
        STATION_DIR: dir,
        BATCH: "watch",
        LOG: log,
        WATCH: "1",
        PORTS: `${board!.path},${join(dir, "not-plugged-yet")}`,
        NRF_PROVISION_CA_PASSPHRASE: passphrase,
        NRF_CLOUD_API_KEY: cloud.apiKey,
        NRF_CLOUD_BASE_URL: cloud.baseUrl,
      },
      async (group) => {
        // Once the board is done, the station keeps watching for the other port: Ctrl-C.
        while (!(await readFile(log, "utf8").catch(() => "")).includes('"type":"board-done"')) {
          await sleep(100);
        }
        process.kill(-group, "SIGINT");
      },
    );
    expect(result.status, result.output).toBe(130);
    expect(result.output).toContain("watching for boards: plug them in; press Ctrl-C to stop");
    expect(result.output).toMatch(/station stopped: 1 of 1 board\(s\) done, 0 failure\(s\)/);
    const events = (await readFile(log, "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(events.at(-1)).toMatchObject({ type: "station-end", summary: { interrupted: true } });
  }, 120_000);
});
