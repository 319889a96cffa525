/**
 * Runs every command the README shows, in order, as a user would type them: the built
 * `nrf-provision` binary on PATH, simulated boards on real pseudo-terminals standing in for
 * /dev/ttyACM*, and the simulated nRF Cloud standing in for api.nrfcloud.com.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLedger } from "../src/ca/index.js";
import { type SimCloud, startSimCloud } from "../src/sim/cloud/index.js";
import { type SimModemOptions, startSimModemOnPty } from "../src/sim/modem/index.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const readme = await readFile(join(repo, "README.md"), "utf8");

/** Each ```sh block of the README, split into commands (continuation lines joined). */
function readmeShellBlocks(markdown: string): string[][] {
  const blocks: string[][] = [];
  for (const match of markdown.matchAll(/^```sh\n([\s\S]*?)^```/gm)) {
    const commands = (match[1] ?? "")
      .replace(/\\\n\s*/g, " ")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"));
    blocks.push(commands);
  }
  return blocks;
}

/** The board that README examples name by IMEI and UUID. */
const exampleBoard: SimModemOptions = {
  imei: "352656100367872",
  deviceUuid: "50363154-3931-44f0-8022-121b6401627d",
  clock: () => Date.now(),
};
const boardPorts = ["ttyACM0", "ttyACM2", "ttyACM4", "ttyACM6", "ttyACM8", "ttyACM10"];
const apiKey = "readme-test-api-key";
const exampleBulkId = "01FP9690MHBTMBHBMER0HWABCD";
const longRunning = /^nrf-provision sim (modem|cloud)\b/;

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe("every command in the README", () => {
  let sandbox: string;
  let cloud: SimCloud;
  const boards: Array<{ close(): Promise<void> }> = [];
  let env: NodeJS.ProcessEnv;

  /** Rewrites the README's real-world names to the sandbox's simulated ones. */
  function localise(command: string): string {
    const lastBulkId = [...cloud.bulkOps.keys()].at(-1) ?? exampleBulkId;
    return command
      .replace(/(--ports?) auto\b/g, "$1 /dev/ttyACM0")
      .replace(/(^|[\s=,])\/dev\/(ttyACM\d+)/g, `$1${sandbox}/dev/$2`)
      .replace(/\/tmp\/nrf91-sim/g, `${sandbox}/nrf91-sim`)
      .replace(/(^|\s)scripts\//g, `$1${repo}scripts/`)
      .replace(/export NRF_CLOUD_API_KEY=.*$/g, `export NRF_CLOUD_API_KEY=${apiKey}`)
      .replace(new RegExp(exampleBulkId, "g"), lastBulkId);
  }

  function run(script: string, cwd = sandbox, signalAfterOutput = false): Promise<RunResult> {
    return new Promise((resolve) => {
      const child = spawn("bash", ["-c", script], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
        // A simulator runs until Ctrl-C: interrupt it once it has said where it listens.
        if (signalAfterOutput && /\n/.test(stdout)) child.kill("SIGINT");
      });
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
      });
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  }

  beforeAll(async () => {
    const binary = join(repo, "bin", "nrf-provision.js");
    if (!existsSync(join(repo, "dist", "cli", "run.js"))) {
      throw new Error("dist/ is missing: run `npm run build` (npm test does it first)");
    }
    sandbox = await mkdtemp(join(tmpdir(), "nrf-provision-readme-"));
    await mkdir(join(sandbox, "bin"));
    await mkdir(join(sandbox, "dev"));
    const wrapper = join(sandbox, "bin", "nrf-provision");
    await writeFile(wrapper, `#!/bin/sh\nexec node "${binary}" "$@"\n`);
    await chmod(wrapper, 0o755);
    cloud = await startSimCloud({
      apiKey,
      bulkDelayMs: 50,
      ownershipCodes: { "nrf-352656100367881": "123456" },
    });
    for (const [index, name] of boardPorts.entries()) {
      const options = index === 0 ? exampleBoard : { clock: () => Date.now() };
      boards.push(await startSimModemOnPty({ ...options, linkPath: join(sandbox, "dev", name) }));
    }
    env = {
      PATH: `${join(sandbox, "bin")}:${process.env.PATH}`,
      HOME: sandbox,
      NRF_CLOUD_BASE_URL: cloud.baseUrl,
      NRF_CLOUD_API_KEY: apiKey,
    };
  }, 60_000);

  afterAll(async () => {
    await Promise.all(boards.map((board) => board.close()));
    await cloud?.close();
    if (sandbox) await rm(sandbox, { recursive: true, force: true });
  });

  it("runs them all, in order, against simulated boards and nRF Cloud", async () => {
    const blocks = readmeShellBlocks(readme);
    let executed = 0;
    // The reader's shell keeps what earlier blocks exported.
    const exported: string[] = [];
    for (const block of blocks) {
      const [first] = block;
      if (first === "npm ci && npm run demo") {
        // The first of the README's two commands (npm ci is what CI itself runs first).
        const demo = await run("npm run --silent demo", repo);
        expect(demo.stderr + demo.stdout).not.toMatch(/error/i);
        expect(demo.code, demo.stderr).toBe(0);
        expect(block[1]).toBe("npm test"); // the second is the command running this test
        executed += 2;
        continue;
      }
      if (first === "npm install -g nrf-provision") {
        // Install: test/package.test.ts installs the packed tarball into an empty project
        // (the registry has no unreleased version) and runs `npx nrf-provision --help` there.
        expect(block).toEqual(["npm install -g nrf-provision", "nrf-provision --help"]);
        executed += 2;
        continue;
      }
      const oneShot = block.filter((command) => !longRunning.test(command));
      for (const command of block.filter((command) => longRunning.test(command))) {
        const result = await run(localise(command), sandbox, true);
        expect(result.code, `${command}\n${result.stderr}`).toBe(0);
        expect(result.stdout).toMatch(/tmp|http:\/\/127\.0\.0\.1/);
        executed += 1;
      }
      if (oneShot.length === 0) continue;
      const commands = oneShot.map(localise);
      const script = ["set -euo pipefail", ...exported, "export PS4='+ '", "set -x", ...commands];
      exported.push(...commands.filter((command) => command.startsWith("export ")));
      const result = await run(script.join("\n"));
      expect(result.code, `README block failed:\n${oneShot.join("\n")}\n\n${result.stderr}`).toBe(
        0,
      );
      executed += oneShot.length;
    }
    expect(executed).toBe(blocks.flat().length);
    expect(executed).toBeGreaterThan(40);

    // What the commands did, seen from the simulators and the files they left.
    const ledger = await readLedger(join(sandbox, "ca", "ledger.jsonl"));
    const deviceIds = new Set(ledger.entries.map((entry) => entry.deviceId));
    expect(deviceIds).toContain("nrf-352656100367872");
    expect(deviceIds).toContain("50363154-3931-44f0-8022-121b6401627d");
    expect(cloud.devices.has("nrf-352656100367872")).toBe(true);
    const tokens = (await readFile(join(sandbox, "tokens.jsonl"), "utf8")).trim().split("\n");
    expect(tokens).toHaveLength(10);
    const exampleStore = await readFile(
      join(sandbox, "devices", "nrf-352656100367872", "device.json"),
      "utf8",
    );
    expect(JSON.parse(exampleStore)).toMatchObject({ deviceId: "nrf-352656100367872" });
  }, 600_000);
});
