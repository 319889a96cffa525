import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCloudClient } from "../../src/cloud/index.js";
import { socatAvailable } from "../../src/sim/modem/index.js";
import { runChild, startChild, startSimModemChild } from "../cli/child.js";

// issue 15, Done when: `provision-remote` and auto-onboarding end to end, offline, every part a
// child process of the built CLI (sim cloud, sim provisioning, sim modem with the device agent,
// provision-remote itself), the checks made from outside (the modem's %CMNG list, the CA
// ledger, the simulated nRF Cloud, a device JWT).

const hasSocat = await socatAvailable();
const SEC_TAG = 16842753;
const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

describe.skipIf(!hasSocat)("provision-remote against the simulators (child processes)", () => {
  const passphrase = "provision-remote-test";
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let cloudUrl: string;
  let apiKey: string;
  let provisioningUrl: string;
  const children: Array<{ stop(): Promise<unknown> }> = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "nrf-provision-remote-"));
    const caInit = await runChild(["ca", "init", "--dir", join(dir, "ca")], {
      env: { NRF_PROVISION_CA_PASSPHRASE: passphrase },
    });
    expect(caInit.code, caInit.err).toBe(0);
    const cloud = startChild(["sim", "cloud", "--json"]);
    children.push(cloud);
    ({ baseUrl: cloudUrl, apiKey } = JSON.parse(
      await cloud.untilStdout((out) => out.includes("}")),
    ));
    const service = startChild([
      "sim",
      "provisioning",
      "--json",
      "--api-key",
      apiKey,
      "--cloud-url",
      cloudUrl,
    ]);
    children.push(service);
    provisioningUrl = JSON.parse(await service.untilStdout((out) => out.includes("}"))).baseUrl;
    env = {
      NRF_PROVISION_CA_PASSPHRASE: passphrase,
      NRF_CLOUD_API_KEY: apiKey,
      NRF_CLOUD_BASE_URL: cloudUrl,
      NRF_PROVISIONING_BASE_URL: provisioningUrl,
    };
  }, 60_000);

  afterAll(async () => {
    for (const child of children.splice(0).reverse()) await child.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** A simulated nRF9151 running the device agent; its identity registered with the simulated Nordic database. */
  async function board(seed: string, extra: string[] = []) {
    const sim = await startSimModemChild([
      "--seed",
      seed,
      "--model",
      "nRF9151-LACA",
      "--firmware",
      "mfw_nrf91x1_2.0.2",
      "--provisioning-url",
      provisioningUrl,
      ...extra,
    ]);
    children.push(sim);
    const identity = JSON.parse(await sim.untilStdout((out) => out.includes("}"))) as {
      deviceUuid: string;
      identityPublicKeyPem: string;
    };
    const registered = await fetch(`${provisioningUrl}/sim/identities`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        deviceUuid: identity.deviceUuid,
        identityPublicKeyPem: identity.identityPublicKeyPem,
      }),
    });
    expect(registered.status).toBe(204);
    return sim;
  }

  /** A JWT from the modem's key in the sec tag (`modem jwt`), used on the simulated nRF Cloud. */
  async function deviceJwtAccepted(port: string, deviceId: string): Promise<void> {
    const jwt = await runChild(
      [
        "modem",
        "jwt",
        "--port",
        port,
        "--sec-tag",
        String(SEC_TAG),
        "--subject",
        deviceId,
        "--lifetime",
        "600",
      ],
      { env },
    );
    expect(jwt.code, jwt.err).toBe(0);
    const cloud = createCloudClient({ baseUrl: cloudUrl });
    await cloud.updateDeviceState({
      deviceId,
      jwt: jwt.out.trim(),
      state: { reported: { test: { remote: true } } },
    });
    const device = await createCloudClient({ baseUrl: cloudUrl, apiKey }).fetchDevice({ deviceId });
    expect(JSON.stringify(device)).toContain('"remote":true');
  }

  it("a simulated nRF9151 (AT firmware, AT#PROVSTART) ends provisioned: certificate + root CA on the modem by %CMNG hash, in the CA ledger, onboarded, a device JWT accepted", async () => {
    const sim = await board("remote-1");
    const run = await runChild(
      [
        "provision-remote",
        "--port",
        sim.port,
        "--ca-dir",
        join(dir, "ca"),
        "--poll-interval",
        "1",
        "--wait-timeout",
        "60",
        "--json",
      ],
      { env },
    );
    expect(run.code, run.err + run.out).toBe(0);
    const result = JSON.parse(run.out);
    expect(result).toMatchObject({
      ok: true,
      path: "certificate",
      deviceId: sim.deviceUuid,
      trigger: "at",
    });
    expect(
      result.commands.map((c: { type: string; status: string }) => `${c.type}:${c.status}`),
    ).toEqual([
      "certificateSigningRequest:SUCCEEDED",
      "clientCertificate:SUCCEEDED",
      "serverCertificate:SUCCEEDED",
      "finished:SUCCEEDED",
    ]);
    // The modem's own list, read by another process.
    const listed = await runChild(
      ["modem", "creds", "list", "--port", sim.port, "--sec-tag", String(SEC_TAG), "--json"],
      { env },
    );
    expect(listed.code, listed.err).toBe(0);
    const entries = JSON.parse(listed.out) as Array<{ type: number; sha256: string }>;
    const hashOf = (type: number) =>
      entries.find((entry) => entry.type === type)?.sha256?.toLowerCase();
    expect(hashOf(1)).toBe(sha256(result.certificate.pem));
    expect(hashOf(0)).toBe(result.verified.rootCaSha256);
    expect(entries.some((entry) => entry.type === 2)).toBe(true);
    // The ledger has it, the cloud has it.
    const ledger = await readFile(join(dir, "ca", "ledger.jsonl"), "utf8");
    expect(ledger).toContain(result.certificate.serialNumber);
    expect(result.onboarding).toMatchObject({ mode: "single", status: "onboarded" });
    await deviceJwtAccepted(sim.port, sim.deviceUuid);
  }, 120_000);

  it("auto-onboarding on shell firmware: --tags nrf-cloud-onboarding --ensure-rule, `nrf_provisioning now`, the rule's commands run on the first poll, the device is on nRF Cloud with its key", async () => {
    const sim = await board("remote-2", ["--shell"]);
    const run = await runChild(
      [
        "provision-remote",
        "--port",
        sim.port,
        "--tags",
        "nrf-cloud-onboarding",
        "--ensure-rule",
        "--poll-interval",
        "1",
        "--wait-timeout",
        "60",
      ],
      { env },
    );
    expect(run.code, run.err + run.out).toBe(0);
    expect(run.out).toMatch(/rule: created the rule "nRF Cloud Onboarding"/);
    expect(run.out).toMatch(/trigger: sent `nrf_provisioning now` on the shell/);
    expect(run.out).toMatch(
      /clientPrivateKeyGeneration SUCCEEDED, cloudAccessKeyGeneration SUCCEEDED, serverCertificate SUCCEEDED/,
    );
    const device = await createCloudClient({ baseUrl: cloudUrl, apiKey }).fetchDevice({
      deviceId: sim.deviceUuid,
    });
    expect(device.id).toBe(sim.deviceUuid);
    await deviceJwtAccepted(sim.port, sim.deviceUuid);
  }, 120_000);

  it("a wait that times out: a board whose firmware never polls (--trigger manual), exit 5 with the command still PENDING", async () => {
    const sim = startChildModem(
      await startSimModemChild([
        "--seed",
        "remote-3",
        "--model",
        "nRF9151-LACA",
        "--firmware",
        "mfw_nrf91x1_2.0.2",
      ]),
    );
    const registered = await fetch(`${provisioningUrl}/sim/identities`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify(JSON.parse((await sim.untilStdout((out) => out.includes("}"))).trim())),
    });
    expect(registered.status).toBe(204);
    const run = await runChild(
      [
        "provision-remote",
        "--port",
        sim.port,
        "--ca-dir",
        join(dir, "ca"),
        "--trigger",
        "manual",
        "--poll-interval",
        "1",
        "--wait-timeout",
        "2",
      ],
      { env },
    );
    expect(run.code).toBe(5);
    expect(run.err).toMatch(/still PENDING.*gave up after 2000 ms/);
    expect(run.err).toContain("ERR_PROVISIONING_WAIT_TIMEOUT");
  }, 60_000);

  function startChildModem<T extends { stop(): Promise<unknown> }>(sim: T): T {
    children.push(sim);
    return sim;
  }
});
