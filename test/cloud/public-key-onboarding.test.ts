/**
 * The second onboarding modality, as a user runs it: the built CLI in child processes against
 * `nrf-provision sim cloud` started with the README's own command line. A software device gets a key pair
 * (`jwt keygen`), is onboarded with its public key, and updates its own state with a device JWT;
 * a JWT signed by any other key is refused with 401.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildOnboardingCsv } from "../../src/cloud/index.js";

const binary = fileURLToPath(new URL("../../bin/nrf-provision.js", import.meta.url));
const apiKey = "rehearsal-key";

interface Run {
  code: number;
  out: string;
  err: string;
}

describe("onboarding with a public key (built CLI, sim cloud as the README starts it)", () => {
  let dir: string;
  let cloud: ChildProcess;
  let env: NodeJS.ProcessEnv;

  const run = (...argv: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile("node", [binary, ...argv], { cwd: dir, env }, (error, out, err) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, out, err });
      });
    });

  beforeAll(async () => {
    if (!existsSync(fileURLToPath(new URL("../../dist/cli/run.js", import.meta.url)))) {
      throw new Error("dist/ is missing: run `npm run build` (npm test does it first)");
    }
    dir = await mkdtemp(join(tmpdir(), "public-key-onboarding-"));
    // The README's own `sim cloud` command line (it has no quoted arguments).
    const readme = await readFile(
      fileURLToPath(new URL("../../README.md", import.meta.url)),
      "utf8",
    );
    const command = /^nrf-provision sim cloud .*$/m.exec(readme)?.[0];
    if (!command) throw new Error("the README shows no `nrf-provision sim cloud` command");
    expect(command).toContain(`--api-key ${apiKey}`);
    cloud = spawn("node", [binary, ...command.split(/\s+/).slice(1)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let printed = "";
    const baseUrl = await new Promise<string>((resolve, reject) => {
      cloud.stdout?.on("data", (chunk) => {
        printed += chunk;
        const url = /export NRF_CLOUD_BASE_URL=(\S+)/.exec(printed)?.[1];
        if (url) resolve(url);
      });
      cloud.once("exit", (code) => reject(new Error(`sim cloud exited (${code}): ${printed}`)));
    });
    env = { PATH: process.env.PATH, NRF_CLOUD_BASE_URL: baseUrl, NRF_CLOUD_API_KEY: apiKey };
  }, 120_000);

  afterAll(async () => {
    if (cloud && cloud.exitCode === null) {
      const exited = new Promise((resolve) => cloud.once("exit", resolve));
      cloud.kill("SIGINT");
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("jwt keygen → cloud onboard --public-key → cloud state --jwt-key; another key's JWT gets 401", async () => {
    expect((await run("jwt", "keygen", "--device", "sw-dev", "--out-dir", "keys")).code).toBe(0);
    const onboard = await run(
      "cloud",
      "onboard",
      "--device",
      "sw-dev",
      "--public-key",
      "keys/sw-dev.pub.pem",
    );
    expect(onboard, onboard.err).toMatchObject({ code: 0 });
    expect(onboard.out).toBe("Onboarded sw-dev with its public key (device JWTs over REST).\n");

    const update = await run(
      "cloud",
      "state",
      "--device",
      "sw-dev",
      "--reported",
      '{"test":{"run":1}}',
      "--jwt-key",
      "keys/sw-dev.key.pem",
      "--json",
    );
    expect(update.code, update.err).toBe(0);
    expect(JSON.parse(update.out)).toMatchObject({ ok: true, auth: "device-jwt" });

    // The record: firmware types defaulted to APP|MODEM, the state the device reported.
    const got = await run("cloud", "device", "get", "--device", "sw-dev", "--json");
    expect(JSON.parse(got.out).device).toMatchObject({
      id: "sw-dev",
      firmware: { supports: ["APP", "MODEM"] },
      cloudMqttEnabled: false,
      state: { reported: { test: { run: 1 } }, version: 1 },
    });

    expect((await run("jwt", "keygen", "--device", "intruder", "--out-dir", "keys")).code).toBe(0);
    const forged = await run(
      "cloud",
      "state",
      "--device",
      "sw-dev",
      "--reported",
      '{"test":{"run":2}}',
      "--jwt-key",
      "keys/intruder.key.pem",
      "--json",
    );
    expect(forged.code).toBe(5);
    expect(JSON.parse(forged.out).error).toMatchObject({
      code: "ERR_CLOUD_AUTH",
      details: { status: 401, method: "PATCH" },
    });
    const after = await run("cloud", "device", "get", "--device", "sw-dev", "--json");
    expect(JSON.parse(after.out).device.state).toMatchObject({ version: 1 });
  }, 300_000);

  it("onboard --csv takes rows whose PEM is a PUBLIC KEY; each device then signs its own JWTs", async () => {
    const keygen = await run(
      "jwt",
      "keygen",
      "--count",
      "3",
      "--prefix",
      "csv-key-",
      "--out-dir",
      "csv-keys",
    );
    expect(keygen.code, keygen.err).toBe(0);
    const ids = ["csv-key-1", "csv-key-2", "csv-key-3"];
    const rows = await Promise.all(
      ids.map(async (deviceId) => ({
        deviceId,
        certificate: await readFile(join(dir, "csv-keys", `${deviceId}.pub.pem`), "utf8"),
        supportedFirmwareTypes: ["APP", "MODEM"],
      })),
    );
    await writeFile(join(dir, "keys-onboard.csv"), buildOnboardingCsv(rows)[0]?.body ?? "");
    const upload = await run("cloud", "onboard", "--csv", "keys-onboard.csv", "--wait");
    expect(upload.code, upload.err).toBe(0);
    expect(upload.out).toMatch(/ONBOARD_DEVICES: SUCCEEDED/);
    for (const deviceId of ids) {
      const update = await run(
        "cloud",
        "state",
        "--device",
        deviceId,
        "--reported",
        '{"ok":true}',
        "--jwt-key",
        `csv-keys/${deviceId}.key.pem`,
      );
      expect(update.code, update.err).toBe(0);
    }
    // A device's JWT does not open another device's shadow.
    const crossed = await run(
      "cloud",
      "state",
      "--device",
      "csv-key-1",
      "--reported",
      "{}",
      "--jwt-key",
      "csv-keys/csv-key-2.key.pem",
    );
    expect(crossed.code).toBe(5);
    expect(crossed.err).toMatch(/401/);
  }, 300_000);

  it("refuses a public key given as --cert (and a certificate as --public-key) before sending", async () => {
    await run("jwt", "keygen", "--device", "mixed", "--out-dir", "mixed");
    const wrongFlag = await run(
      "cloud",
      "onboard",
      "--device",
      "mixed",
      "--cert",
      "mixed/mixed.pub.pem",
    );
    expect(wrongFlag.code).toBe(2);
    expect(wrongFlag.err).toMatch(/--cert mixed\/mixed\.pub\.pem holds a PUBLIC KEY.*--public-key/);
    await writeFile(
      join(dir, "mixed", "device.pem"),
      "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n",
    );
    const certAsKey = await run(
      "cloud",
      "onboard",
      "--device",
      "mixed",
      "--public-key",
      "mixed/device.pem",
    );
    expect(certAsKey.code).toBe(2);
    expect(certAsKey.err).toMatch(/holds no PUBLIC KEY PEM; pass a certificate with --cert/);
    const both = await run(
      "cloud",
      "onboard",
      "--device",
      "mixed",
      "--cert",
      "a.pem",
      "--public-key",
      "mixed/mixed.pub.pem",
    );
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/either --cert .* or --public-key/);
    const missing = await run("cloud", "device", "get", "--device", "mixed");
    expect(missing.code).toBe(5); // nothing was onboarded
  }, 300_000);
});
