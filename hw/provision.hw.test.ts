import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initCa } from "../src/ca/index.js";
import { runCliCaptured } from "../test/cli/harness.js";

// A full `provision` against a real board (see hw/README.md), on a spare sec tag so the
// board's nRF Cloud credentials stay as they are. Runs only with NRF_PROVISION_HW_PORT set.
// Onboarding is `none` unless NRF_CLOUD_API_KEY is set (then OnboardDevice on the real
// nRF Cloud, or on NRF_CLOUD_BASE_URL).
const port = process.env.NRF_PROVISION_HW_PORT;
const spareSecTag = process.env.NRF_PROVISION_HW_SEC_TAG ?? "16842999";
const apiKey = process.env.NRF_CLOUD_API_KEY;
const passphrase = "hw-provision-test";

async function run(argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const { code, out, err } = await runCliCaptured(argv, {
    env: { ...process.env, NRF_PROVISION_CA_PASSPHRASE: passphrase },
  });
  return { exitCode: code, stdout: out, stderr: err };
}

describe.skipIf(!port)("provision a real board", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "nrf-provision-hw-"));
    await initCa({ dir: join(dir, "ca"), passphrase, commonName: "nrf-provision hw test CA" });
  });
  afterAll(async () => {
    // Leave the spare sec tag empty again.
    for (const type of ["root-ca", "client-cert", "client-key"]) {
      await run([
        "modem",
        "creds",
        "delete",
        "--port",
        port!,
        "--sec-tag",
        spareSecTag,
        "--type",
        type,
        "--ignore-missing",
      ]);
    }
    await rm(dir, { recursive: true, force: true });
  });

  it("provisions end to end, verifies the hashes and restores the functional mode", async () => {
    const before = JSON.parse((await run(["modem", "info", "--port", port!, "--json"])).stdout);
    const result = await run([
      "provision",
      "--port",
      port!,
      "--ca-dir",
      join(dir, "ca"),
      "--sec-tag",
      spareSecTag,
      "--device-id",
      "imei",
      "--replace",
      "--onboard",
      apiKey ? "single" : "none",
      "--save-dir",
      join(dir, "saved"),
      "--json",
    ]);
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.deviceId).toBe(`nrf-${before.imei}`);
    expect(report.credentials.rootCa.verified).toBe(true);
    expect(report.credentials.certificate.verified).toBe(true);
    expect(report.credentials.privateKey.present).toBe(true);
    expect(report.functionalMode.before).toBe(before.functionalMode);
    const after = JSON.parse((await run(["modem", "info", "--port", port!, "--json"])).stdout);
    expect(after.functionalMode).toBe(before.functionalMode);
  }, 120_000);
});
