import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SimCloud, startSimCloud } from "../../src/sim/cloud/index.js";
import { type PtyBoard, passphrase, removeDir, startPtyBoards, tempDir } from "./fixtures.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

function runScript(env: NodeJS.ProcessEnv): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["scripts/station-example.sh"], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
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
      NRF_PROVISION: "node --import tsx src/cli/run.ts",
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
});
