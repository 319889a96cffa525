import { afterEach, describe, expect, it } from "vitest";
import { openAtClient } from "../../src/at/index.js";
import type { CertificateAuthority } from "../../src/ca/index.js";
import { loadRootCaBundle } from "../../src/pipeline/index.js";
import { createProvisioningClient } from "../../src/provisioning/index.js";
import { provisionRemote, type RemoteBoard } from "../../src/provisioning/remote.js";
import { createMemoryTransportPair } from "../../src/serial/index.js";
import { type DeviceAgent, startDeviceAgent } from "../../src/sim/device-agent/index.js";
import { SimModem, type SimModemOptions } from "../../src/sim/modem/index.js";
import { type SimProvisioning, startSimProvisioning } from "../../src/sim/provisioning/index.js";
import { createTestCa, removeDir, tempDir } from "../pipeline/fixtures.js";

// provisionRemote in-process against the simulated service over real HTTP and a simulated board
// with its device agent: the failure paths a bench meets, each with the error that says why.

const SEC_TAG = 16842753;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function bench(seed: string, modemOptions: SimModemOptions = {}, faults = {}) {
  const dir = await tempDir("nrf-provision-remote-");
  const { ca } = await createTestCa(dir);
  const sim: SimProvisioning = await startSimProvisioning({ apiKey: "remote-test-key", faults });
  const modem = new SimModem({
    seed,
    model: "nRF9151-LACA",
    firmware: "mfw_nrf91x1_2.0.2",
    clock: Date.now,
    urcs: "none",
    ...modemOptions,
  });
  sim.registerIdentity({
    deviceUuid: modem.deviceUuid,
    identityPublicKey: modem.identityPublicKeyPem,
  });
  const agent: DeviceAgent = await startDeviceAgent(modem, { baseUrl: sim.baseUrl });
  const board: RemoteBoard = {
    port: `sim:${seed}`,
    open: async () => {
      const [host, device] = createMemoryTransportPair();
      modem.attach(device);
      return openAtClient(host, { mode: "at", flushMs: 0 });
    },
  };
  const service = createProvisioningClient({ baseUrl: sim.baseUrl, apiKey: sim.apiKey });
  cleanups.push(async () => {
    await agent.close();
    await sim.close();
    await (ca as CertificateAuthority).close();
    await removeDir(dir);
  });
  const options = {
    board,
    service,
    ca,
    rootCaPem: await loadRootCaBundle(),
    secTag: SEC_TAG,
    deviceIdPolicy: { kind: "uuid" } as const,
    pollIntervalMs: 50,
    waitTimeoutMs: 20_000,
  };
  return { sim, modem, agent, ca, options };
}

describe("provisionRemote (in-process, real HTTP)", () => {
  it("provisions through the service with the legacy `csr` response field, onboarding skipped", async () => {
    const b = await bench("remote-ok", {}, { legacyCsrField: true });
    const result = await provisionRemote(b.options);
    expect(result.path).toBe("certificate");
    expect(result.commands.every((command) => command.status === "SUCCEEDED")).toBe(true);
    expect(result.onboarding).toEqual({ mode: "none" });
    expect((await b.ca.ledger.find({ deviceId: b.modem.deviceUuid })).length).toBe(1);
  });

  it("an AT error mid-queue on the device: ERR_PROVISIONING_COMMAND_FAILED naming the command, nothing verified", async () => {
    const b = await bench("remote-cme", { faults: { cmeOn: { "AT%CMNG=0": 515 } } });
    await expect(provisionRemote(b.options)).rejects.toMatchObject({
      code: "ERR_PROVISIONING_COMMAND_FAILED",
      details: { type: "clientCertificate", status: "FAILED" },
    });
    const queue = await b.options.service.listCommands(b.modem.deviceUuid);
    expect(queue.items.map((command) => command.status)).toEqual([
      "SUCCEEDED",
      "FAILED",
      "CANCELLED",
      "CANCELLED",
    ]);
  });

  it("a CSR whose COSE digest does not match is refused like a local KEYGEN, and no certificate is issued", async () => {
    const b = await bench("remote-digest", { faults: { corruptKeygenDigest: true } });
    await expect(provisionRemote(b.options)).rejects.toMatchObject({ code: "ERR_KEYGEN_DIGEST" });
    expect(await b.ca.ledger.find({ deviceId: b.modem.deviceUuid })).toEqual([]);
  });

  it("refuses an nRF9160 before anything is sent", async () => {
    const b = await bench("remote-9160", { model: "nRF9160-SICA", firmware: "mfw_nrf9160_1.3.5" });
    await expect(provisionRemote(b.options)).rejects.toMatchObject({
      code: "ERR_PROVISIONING_MODEL",
    });
    expect(b.sim.state.claimed.size).toBe(0);
  });

  it("a device already claimed: the dry run's reason, no second claim", async () => {
    const b = await bench("remote-claimed");
    await provisionRemote({ ...b.options, tags: ["first"] }).catch(() => undefined);
    await expect(provisionRemote(b.options)).rejects.toMatchObject({
      code: "ERR_PROVISIONING_CLAIM_FAILED",
      message: expect.stringMatching(/already claimed/),
    });
  });

  it("AT firmware without AT#PROVSTART: ERR_PROVISIONING_TRIGGER says what to do", async () => {
    const b = await bench("remote-no-trigger");
    await b.agent.close(); // firmware without the library's custom AT command
    await expect(provisionRemote(b.options)).rejects.toMatchObject({
      code: "ERR_PROVISIONING_TRIGGER",
      message: expect.stringMatching(/--trigger manual/),
    });
  });
});
