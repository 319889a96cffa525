import { afterEach, describe, expect, it } from "vitest";
import { openAtClient } from "../../../src/at/index.js";
import {
  createProvisioningClient,
  type ProvisioningClient,
} from "../../../src/provisioning/index.js";
import { createMemoryTransportPair } from "../../../src/serial/index.js";
import { type DeviceAgent, startDeviceAgent } from "../../../src/sim/device-agent/index.js";
import { SimModem, type SimModemOptions } from "../../../src/sim/modem/index.js";
import { type SimProvisioning, startSimProvisioning } from "../../../src/sim/provisioning/index.js";

// The simulated device agent against the simulated Provisioning Service on a real HTTP server,
// driving a simulated nRF9151 through the real AT client (reference §3.3, §3.5, §3.6).

const SEC_TAG = 16842753;
const PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";

interface Rig {
  sim: SimProvisioning;
  client: ProvisioningClient;
  modem: SimModem;
  agent: DeviceAgent;
  host: Awaited<ReturnType<typeof openAtClient>>;
  urls: string[];
  auths: string[];
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) {
    await rig.agent.close();
    await rig.host.close();
    await rig.sim.close();
  }
});

async function rig(
  seed: string,
  o: {
    modem?: SimModemOptions;
    agent?: Partial<Parameters<typeof startDeviceAgent>[1]>;
    claim?: boolean;
    tags?: string[];
  } = {},
): Promise<Rig> {
  const sim = await startSimProvisioning({ apiKey: "agent-test-key" });
  const client = createProvisioningClient({
    baseUrl: sim.baseUrl,
    apiKey: sim.apiKey,
    retry: { sleep: async () => {}, random: () => 0.5 },
  });
  const modem = new SimModem({
    seed,
    model: "nRF9151-LACA",
    firmware: "mfw_nrf91x1_2.0.2",
    clock: Date.now,
    urcs: "none",
    ...o.modem,
  });
  sim.registerIdentity({
    deviceUuid: modem.deviceUuid,
    identityPublicKey: modem.identityPublicKeyPem,
  });
  const [hostEnd, device] = createMemoryTransportPair();
  modem.attach(device);
  const host = await openAtClient(hostEnd, { mode: "at" });
  const urls: string[] = [];
  const auths: string[] = [];
  const agent = await startDeviceAgent(modem, {
    baseUrl: sim.baseUrl,
    networkTimeTimeoutMs: 300,
    fetch: (input, init) => {
      urls.push(String(input));
      auths.push(String(new Headers(init?.headers).get("authorization")));
      return fetch(input, init);
    },
    ...o.agent,
  });
  if (o.claim !== false) {
    const token = /"([^"]+)"/.exec(
      (await host.send("AT%ATTESTTOKEN")).lines.join("\n"),
    )?.[1] as string;
    await client.claimDevice({ claimToken: token, ...(o.tags ? { tags: o.tags } : {}) });
  }
  const made = { sim, client, modem, agent, host, urls, auths };
  rigs.push(made);
  return made;
}

async function statuses(r: Rig, ids: string[]) {
  return Promise.all(
    ids.map(async (id) => (await r.client.getCommand(r.modem.deviceUuid, id)).status),
  );
}

describe("the simulated device agent", () => {
  it("AT#PROVSTART runs the queue: key generation (delete's CME 513 ignored), certificates, finished; the modem is back online", async () => {
    const sent: string[] = [];
    const r = await rig("agent-1", { modem: { onCommand: (command) => sent.push(command) } });
    const uuid = r.modem.deviceUuid;
    const ids = [];
    for (const request of [
      { clientPrivateKeyGeneration: { secTag: SEC_TAG } },
      { serverCertificate: { secTag: SEC_TAG, content: PEM } },
      { finished: {} },
    ])
      ids.push((await r.client.createCommand(uuid, { request })).id);
    expect((await r.host.send("AT#PROVSTART")).final).toBe("OK");
    const result = await r.agent.idle();
    expect(result).toMatchObject({ outcome: "finished", failures: [] });
    expect(await statuses(r, ids)).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
    const key = await r.client.getCommand(uuid, ids[0] as string);
    expect(JSON.stringify(key.response)).toMatch(/"message":"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"/);
    const stored = r.modem.credentials().map((c) => `${c.secTag},${c.type}`);
    expect(stored).toEqual([`${SEC_TAG},0`, `${SEC_TAG},2`]);
    expect(r.modem.functionalMode).toBe(1);
    // The fresh board had no key: the delete before %KEYGEN answered CME 513, which the command ignores.
    const deleteAt = sent.indexOf(`AT%CMNG=3,${SEC_TAG},2`);
    expect(deleteAt).toBeGreaterThan(sent.indexOf("AT+CFUN=4"));
    expect(sent[deleteAt + 1]).toBe(`AT%KEYGEN=${SEC_TAG},2,1`);
    // The current client: a JWT from the identity key, the full firmware string, a limit.
    const poll = new URL(r.urls[0] as string);
    expect(Object.fromEntries(poll.searchParams)).toMatchObject({
      after: "",
      mver: "mfw_nrf91x1_2.0.2",
      limit: "10",
      rxMaxSize: "4096",
    });
    expect(r.auths[0]).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    // Nothing more to do: a second trigger ends on 204.
    expect(r.agent.trigger("api")).toBe(true);
    expect(await r.agent.idle()).toMatchObject({ outcome: "no-commands" });
  });

  it("an AT error mid-queue: that command FAILED, the rest CANCELLED, finished not acknowledged", async () => {
    const r = await rig("agent-2", { modem: { faults: { cmeOn: { "AT%CMNG=0": 515 } } } });
    const uuid = r.modem.deviceUuid;
    const ids = [];
    for (const request of [
      { clientPrivateKeyGeneration: { secTag: SEC_TAG } },
      { clientCertificate: { secTag: SEC_TAG, content: PEM } },
      { serverCertificate: { secTag: SEC_TAG, content: PEM } },
      { finished: {} },
    ])
      ids.push((await r.client.createCommand(uuid, { request })).id);
    r.agent.trigger("api");
    const result = await r.agent.idle();
    expect(result?.failures).toEqual([
      expect.objectContaining({ cmeError: 515, message: "+CME ERROR: 515" }),
    ]);
    expect(await statuses(r, ids)).toEqual(["SUCCEEDED", "FAILED", "CANCELLED", "CANCELLED"]);
    const failed = await r.client.getCommand(uuid, ids[1] as string);
    expect(failed.response).toEqual({
      clientCertificate: { error: { cmeError: 515, message: "+CME ERROR: 515" } },
    });
    expect(r.modem.credentials().some((c) => c.type === 0)).toBe(false);
    expect(r.modem.functionalMode).toBe(1);
  });

  it("an unclaimed device: 403 by default, 401 with the fault knob; the modem is not touched", async () => {
    const r = await rig("agent-3", { claim: false });
    r.agent.trigger("api");
    expect(await r.agent.idle()).toMatchObject({ outcome: "not-claimed", batches: 0 });
    expect((await r.agent.idle())?.message).toMatch(/403/);
    r.sim.faults.unclaimedStatus = 401;
    r.agent.trigger("api");
    expect((await r.agent.idle())?.message).toMatch(/401/);
    expect(r.modem.credentials()).toEqual([]);
  });

  it("limit exceeded: a service that ignores `limit` sends more records than the client decodes → too many commands, nothing run", async () => {
    const r = await rig("agent-4", { agent: { limit: 3 } });
    r.sim.faults.ignoreLimit = true;
    const uuid = r.modem.deviceUuid;
    await r.client.createCommand(uuid, {
      request: { clientPrivateKeyGeneration: { secTag: SEC_TAG } },
    });
    await r.client.createCommand(uuid, {
      request: { serverCertificate: { secTag: SEC_TAG, content: PEM } },
    });
    r.agent.trigger("api");
    expect(await r.agent.idle()).toMatchObject({ outcome: "too-many-commands" });
    expect((await r.agent.idle())?.message).toMatch(/4 commands in one batch, more than the 3/);
    expect(r.modem.credentials()).toEqual([]);
    // A service that honours it splits the queue into batches of whole commands.
    r.sim.faults.ignoreLimit = false;
    await r.client.createCommand(uuid, { request: { finished: {} } });
    r.agent.trigger("api");
    expect(await r.agent.idle()).toMatchObject({ outcome: "finished" });
    expect((await r.agent.idle())?.batches).toBeGreaterThanOrEqual(2);
  });

  it("no network time: no JWT, no request, FAILED_NO_VALID_DATETIME", async () => {
    const r = await rig("agent-5", { modem: { clock: undefined }, claim: false });
    r.agent.trigger("api");
    expect(await r.agent.idle()).toMatchObject({
      outcome: "no-valid-time",
      message: "Modem does not have valid date/time, JWT not generated",
    });
    expect(r.urls).toEqual([]);
  });

  it("a 500 storm: the session fails (busy), the next trigger after the storm finishes", async () => {
    const r = await rig("agent-6");
    await r.client.createCommand(r.modem.deviceUuid, { request: { finished: {} } });
    r.sim.faults.fail500 = 2;
    r.agent.trigger("api");
    expect(await r.agent.idle()).toMatchObject({ outcome: "failed" });
    expect((await r.agent.idle())?.message).toMatch(/500/);
    r.sim.faults.fail500 = 0;
    r.agent.trigger("api");
    expect(await r.agent.idle()).toMatchObject({ outcome: "finished" });
  });

  it("the legacy client: attestation-token auth, numeric mver, cver=1, no limit", async () => {
    const r = await rig("agent-7", { agent: { client: "legacy" } });
    await r.client.createCommand(r.modem.deviceUuid, { request: { finished: {} } });
    r.agent.trigger("api");
    expect(await r.agent.idle()).toMatchObject({ outcome: "finished" });
    const poll = new URL(r.urls[0] as string);
    expect(poll.searchParams.get("mver")).toBe("2.0.2");
    expect(poll.searchParams.get("cver")).toBe("1");
    expect(poll.searchParams.has("limit")).toBe(false);
    expect(r.auths[0]).toMatch(/^Bearer att\./);
  });

  it("a trigger during a session runs one more session after it (commands queued meanwhile are not missed)", async () => {
    const r = await rig("agent-9");
    await r.client.createCommand(r.modem.deviceUuid, { request: { finished: {} } });
    expect(r.agent.trigger("api")).toBe(true);
    expect(r.agent.trigger("at")).toBe(true);
    expect(r.agent.trigger("at")).toBe(false);
    await r.agent.idle();
    expect(r.agent.results.map((result) => result.outcome)).toEqual(["finished", "no-commands"]);
  });

  it("buffer sizes: rxMaxSize is sent with each poll; a command larger than it (a big root CA bundle) overruns the device buffer, nothing is written", async () => {
    const r = await rig("agent-10", { agent: { rxMaxSize: 512, txMaxSize: 512 } });
    const uuid = r.modem.deviceUuid;
    const big = `-----BEGIN CERTIFICATE-----\n${"A".repeat(700)}\n-----END CERTIFICATE-----\n`;
    await r.client.createCommand(uuid, { request: { finished: {} } });
    r.agent.trigger("api");
    expect(await r.agent.idle()).toMatchObject({ outcome: "finished" });
    expect(new URL(r.urls[0] as string).searchParams.get("rxMaxSize")).toBe("512");
    await r.client.createCommand(uuid, {
      request: { serverCertificate: { secTag: SEC_TAG, content: big } },
    });
    r.agent.trigger("api");
    const result = await r.agent.idle();
    expect(result).toMatchObject({ outcome: "failed" });
    expect(result?.message).toMatch(/RX buffer too small: \d+ bytes > 512/);
    expect(r.modem.credentials()).toEqual([]);
  });

  it("config commands land in the device's settings and are acknowledged", async () => {
    const r = await rig("agent-8");
    const uuid = r.modem.deviceUuid;
    const config = await r.client.createCommand(uuid, {
      request: { config: { "provisioning/interval-sec": "99" } },
    });
    r.agent.trigger("api");
    expect(await r.agent.idle()).toMatchObject({ outcome: "no-commands", failures: [] });
    expect(r.agent.settings.get("provisioning/interval-sec")).toBe("99");
    expect((await r.client.getCommand(uuid, config.id)).status).toBe("SUCCEEDED");
  });
});

describe("the simulated board's provisioning triggers", () => {
  it("shell `nrf_provisioning now` starts the agent and logs it; without an agent it is an unknown command", async () => {
    const modem = new SimModem({
      seed: "agent-shell",
      shellMode: true,
      urcs: "none",
      clock: Date.now,
    });
    const [hostEnd, device] = createMemoryTransportPair();
    modem.attach(device);
    let text = "";
    hostEnd.onData((chunk) => {
      text += Buffer.from(chunk).toString("latin1");
    });
    const send = async (line: string, until: RegExp) => {
      text = "";
      await hostEnd.write(`${line}\r\n`);
      for (let i = 0; i < 200 && !until.test(text); i++)
        await new Promise((r) => setTimeout(r, 10));
      return text;
    };
    expect(await send("nrf_provisioning now", /command not found/)).toMatch(
      /nrf_provisioning: command not found/,
    );
    const agent = await startDeviceAgent(modem, {
      baseUrl: "http://127.0.0.1:9/v1",
      networkTimeTimeoutMs: 100,
    });
    expect(await send("nrf_provisioning now", /Externally initiated provisioning/)).toMatch(
      /<inf> nrf_provisioning: Externally initiated provisioning/,
    );
    expect(await agent.idle()).toMatchObject({ outcome: "failed" });
    await agent.close();
    await hostEnd.close();
  });
});
