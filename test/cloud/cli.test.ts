import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildOnboardingCsv, buildRegisterPublicKeysCsv } from "../../src/cloud/index.js";
import { generateDeviceKeyPair } from "../../src/jwt/index.js";
import { cliRunner, startCli } from "../cli/harness.js";
import { onboardingRows, useSimCloud } from "./helpers.js";

function cli(env: Record<string, string>, cwd: string) {
  const run = cliRunner({ env, cwd });
  return (...argv: string[]) => run(argv);
}

describe("nrf-provision cloud …", () => {
  const startSim = useSimCloud();

  async function setup(options: Parameters<typeof startSim>[0] = {}) {
    const sim = await startSim(options);
    const dir = mkdtempSync(join(tmpdir(), "cloud-cli-"));
    return {
      sim,
      dir,
      run: cli({ NRF_CLOUD_BASE_URL: sim.baseUrl, NRF_CLOUD_API_KEY: sim.apiKey }, dir),
    };
  }

  it("onboard --csv --wait: progress on stderr, failed devices and why on stdout, exit 5", async () => {
    const { sim, dir, run } = await setup({ failRows: new Set(["cli-00002"]), bulkDelayMs: 200 });
    const rows = await onboardingRows(4, "cli");
    const [body] = buildOnboardingCsv(
      rows.map((r) => ({ ...r, supportedFirmwareTypes: ["APP", "MODEM"] })),
    );
    writeFileSync(join(dir, "devices.csv"), body?.body ?? "");
    const human = await run("cloud", "onboard", "--csv", "devices.csv", "--wait");
    expect(human.code, human.out + human.err).toBe(5);
    expect(human.err).toMatch(
      /^bulk operation [0-9A-Z]{26}: (PENDING|IN_PROGRESS|FAILED)\n(.*\n)*.*: FAILED\n$/,
    );
    expect(human.out).toMatch(/FAILED cli-00002 \(row 2 of [0-9A-Z]{26}\): Simulated failure/);
    expect(human.out).toContain("1 device(s) failed");
    expect(sim.devices.get("cli-00000")?.firmwareTypes).toEqual(["APP", "MODEM"]);

    const json = await run("cloud", "register-keys", "--csv", "devices.csv", "--json");
    expect(json.code).toBe(5); // a certificate where a key belongs: refused before upload
    expect(JSON.parse(json.out)).toMatchObject({
      ok: false,
      error: { code: "ERR_CSV_INVALID", details: { row: 0, deviceId: "cli-00000", field: "row" } },
    });
  });

  it("onboard --device --cert, device get --json, state with --if-match auto, device delete", async () => {
    const { dir, run } = await setup();
    const [row] = await onboardingRows(1, "one");
    if (!row) throw new Error("row");
    writeFileSync(join(dir, "cert.pem"), row.certificate);
    const onboard = await run(
      "cloud",
      "onboard",
      "--device",
      row.deviceId,
      "--cert",
      "cert.pem",
      "--sub-type",
      "tracker",
      "--tags",
      "a,b",
      "--fw-types",
      "APP",
      "--json",
    );
    expect(onboard.code).toBe(0);
    expect(JSON.parse(onboard.out)).toEqual({
      ok: true,
      deviceId: row.deviceId,
      modality: "certificate",
      supportedFirmwareTypes: ["APP"],
    });
    const state = await run(
      "cloud",
      "state",
      "--device",
      row.deviceId,
      "--reported",
      '{"x":1}',
      "--if-match",
      "auto",
    );
    expect(state).toMatchObject({
      code: 0,
      out: `Updated the state of ${row.deviceId} (was version 0).\n`,
    });
    const stale = await run(
      "cloud",
      "state",
      "--device",
      row.deviceId,
      "--desired",
      '{"y":2}',
      "--if-match",
      "0",
      "--json",
    );
    expect(stale.code).toBe(5);
    expect(JSON.parse(stale.out).error).toMatchObject({
      code: "ERR_CLOUD_CONFLICT",
      details: { status: 409 },
    });
    const got = await run("cloud", "device", "get", "--device", row.deviceId, "--json");
    expect(JSON.parse(got.out).device).toMatchObject({
      id: row.deviceId,
      subType: "tracker",
      tags: ["a", "b"],
      firmware: { supports: ["APP"] },
      state: { reported: { x: 1 }, version: 1 },
    });
    expect((await run("cloud", "device", "delete", "--device", row.deviceId)).code).toBe(0);
    const gone = await run("cloud", "device", "get", "--device", row.deviceId);
    expect(gone.code).toBe(5);
    expect(gone.err).toMatch(/HTTP 404.*\[ERR_CLOUD_HTTP\]/);
  });

  it("register-keys, then state as the device with --jwt-key; bulk-status shows the job", async () => {
    const { sim, dir, run } = await setup();
    const [row] = await onboardingRows(1, "jwt");
    if (!row) throw new Error("row");
    const keys = generateDeviceKeyPair();
    writeFileSync(join(dir, "device.key.pem"), keys.privateKeyPem);
    const [csv] = buildRegisterPublicKeysCsv([
      { deviceId: row.deviceId, publicKey: keys.publicKeyPem },
    ]);
    writeFileSync(join(dir, "keys.csv"), csv?.body ?? "");
    const registered = await run("cloud", "register-keys", "--csv", "keys.csv", "--json");
    const [request] = JSON.parse(registered.out).requests as Array<{
      bulkOpsRequestId: string;
      rows: number;
    }>;
    expect(request?.rows).toBe(1);
    const status = await run(
      "cloud",
      "bulk-status",
      request?.bulkOpsRequestId ?? "",
      "--wait",
      "--json",
    );
    expect(status.code).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject({
      ok: true,
      failures: [],
      requests: [{ status: "SUCCEEDED", endpoint: "REGISTER_PUBLIC_KEYS" }],
    });

    const notOnboarded = await run(
      "cloud",
      "state",
      "--device",
      row.deviceId,
      "--reported",
      "{}",
      "--jwt-key",
      "device.key.pem",
    );
    expect(notOnboarded.err).toContain("40412");
    await run(
      "cloud",
      "onboard",
      "--device",
      row.deviceId,
      "--cert",
      writeCert(dir, row.certificate),
    );
    const asDevice = await run(
      "cloud",
      "state",
      "--device",
      row.deviceId,
      "--reported",
      '{"fw":"1.0"}',
      "--jwt-key",
      "device.key.pem",
      "--json",
    );
    expect(JSON.parse(asDevice.out)).toMatchObject({ ok: true, auth: "device-jwt" });
    expect(sim.devices.get(row.deviceId)?.shadow.reported).toEqual({ fw: "1.0" });
    const shown = await run("cloud", "bulk-status", request?.bulkOpsRequestId ?? "");
    expect(shown.out).toMatch(/REGISTER_PUBLIC_KEYS: SUCCEEDED/);
  });

  it("associate, create-cert --out-dir (key 0600, deprecation warning), dissociate", async () => {
    const { dir, run } = await setup({ ownershipCodes: { "nrf-352656100000009": "owner-9" } });
    const ids = ["--device", "nrf-352656100000009"];
    expect(
      (
        await run(
          "cloud",
          "associate",
          ...ids,
          "--ownership-code",
          "owner-9",
          "--sub-type",
          "thingy",
        )
      ).code,
    ).toBe(0);
    const created = await run(
      "cloud",
      "create-cert",
      ...ids,
      "--ownership-code",
      "owner-9",
      "--out-dir",
      "jitp",
      "--json",
    );
    expect(created.err).toMatch(/warning: CreateDeviceCertificate is deprecated/);
    const { files } = JSON.parse(created.out);
    expect(readFileSync(files.certificate, "utf8")).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(statSync(files.privateKey).mode & 0o777).toBe(0o600);
    const dissociated = await run("cloud", "dissociate", ...ids);
    expect(dissociated).toMatchObject({ code: 0, out: "Dissociated nrf-352656100000009.\n" });
    expect(dissociated.err).toMatch(/warning: DissociateDevice is deprecated/);
    const wrong = await run("cloud", "associate", ...ids, "--ownership-code", "nope", "--json");
    expect(JSON.parse(wrong.out).error.details).toMatchObject({ nrfErrorCode: 40102 });
    expect(dir).toBeTruthy();
  });

  it("usage errors exit 2; the API key never shows in --json output", async () => {
    const secret = "sk_SECRET-api-key-0123456789abcdef";
    const { sim, dir } = await setup({ apiKey: "other" });
    const run = cli({ NRF_CLOUD_BASE_URL: sim.baseUrl, NRF_CLOUD_API_KEY: secret }, dir);
    expect((await run("cloud", "onboard", "--device", "x")).code).toBe(2);
    expect((await run("cloud", "state", "--device", "x")).code).toBe(2);
    const outputs = [
      await run("cloud", "device", "get", "--device", "d", "--json"),
      await run(
        "cloud",
        "bulk-status",
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "--json",
        "--api-key",
        secret,
      ),
      await run("cloud", "state", "--device", "d", "--reported", "{}", "--json"),
    ];
    for (const output of outputs) {
      expect(output.code).toBe(5);
      expect(JSON.parse(output.out).error.code).toBe("ERR_CLOUD_AUTH");
      expect(output.out + output.err).not.toContain(secret);
    }
  });
});

function writeCert(dir: string, pem: string): string {
  const path = join(dir, "onboard.pem");
  writeFileSync(path, pem);
  return path;
}

describe("nrf-provision sim cloud", () => {
  it("prints its base URL and API key, serves requests, and stops when interrupted", async () => {
    const sim = startCli(
      [
        "sim",
        "cloud",
        "--port",
        "0",
        "--api-key",
        "k1",
        "--bulk-delay-ms",
        "5",
        "--ownership-code",
        "nrf-352656100000009=4242",
        "--json",
      ],
      { env: {} },
    );
    const { baseUrl, apiKey } = JSON.parse(await sim.untilOutput((out) => out.includes("}")));
    expect(apiKey).toBe("k1");
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const list = await fetch(`${baseUrl}/bulk-ops-requests`, {
      headers: { authorization: "Bearer k1" },
    });
    expect(await list.json()).toEqual({ items: [], total: 0 });
    // The board given with --ownership-code can be claimed with its code, and only with it.
    const associate = (code: string) =>
      fetch(`${baseUrl}/association/nrf-352656100000009`, {
        method: "PUT",
        headers: { authorization: "Bearer k1", "content-type": "text/plain" },
        body: code,
      });
    expect((await associate("1111")).status).toBe(400);
    expect((await associate("4242")).status).toBe(202);
    sim.interrupt();
    expect(await sim.exit).toBe(0);
    await expect(fetch(`${baseUrl}/bulk-ops-requests`)).rejects.toThrow();
  });

  it("refuses an --ownership-code that is not deviceId=code", async () => {
    const run = cliRunner({ env: {} });
    const bad = await run(["sim", "cloud", "--ownership-code", "nrf-1:123"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--ownership-code takes deviceId=code");
  });
});
