import { decode, encode } from "cborg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createProvisioningClient, keygenResponseText } from "../../../src/provisioning/index.js";
import {
  type CloudAccessKeyEvent,
  type SimProvisioning,
  startSimProvisioning,
} from "../../../src/sim/provisioning/index.js";
import { simulatedBoard } from "./board.js";

describe("the simulated Provisioning Service's device endpoints", () => {
  let sim: SimProvisioning;
  const keys: CloudAccessKeyEvent[] = [];
  let skewMs = 0;
  beforeEach(async () => {
    keys.length = 0;
    skewMs = 0;
    sim = await startSimProvisioning({
      now: () => Date.now() + skewMs,
      onCloudAccessKey: (event) => void keys.push(event),
    });
  });
  afterEach(async () => sim.close());

  const client = () => createProvisioningClient({ baseUrl: sim.baseUrl, apiKey: sim.apiKey });
  const poll = (auth: string, query = "") =>
    fetch(`${sim.baseUrl}/provisioning/commands?after=${query}`, {
      headers: { authorization: `Bearer ${auth}` },
    });
  const respond = (auth: string, body: unknown) =>
    fetch(`${sim.baseUrl}/provisioning/response`, {
      method: "POST",
      headers: { authorization: `Bearer ${auth}`, "content-type": "application/cbor" },
      body: encode(body),
    });

  it("refuses a JWT that is expired, forged or from an unknown device, and accepts the older att.<token>", async () => {
    const b = await simulatedBoard("svc-1");
    const jwt = await b.quoted("AT%JWT=0,300");
    expect((await poll(jwt)).status).toBe(403); // not in the identity database yet
    sim.registerIdentity(b.identity);
    await client().claimDevice({ claimToken: b.token });
    expect((await poll(jwt)).status).toBe(204);
    expect((await poll(`att.${b.token}`)).status).toBe(204);
    const [header, payload] = jwt.split(".");
    const forged = `${header}.${payload}.${Buffer.alloc(64, 1).toString("base64url")}`;
    expect((await poll(forged)).status).toBe(403);
    const noExp = await b.quoted("AT%JWT=0,0");
    expect((await poll(noExp)).status).toBe(403);
    skewMs = 301_000; // the service's clock past the JWT's exp
    expect((await poll(jwt)).status).toBe(403);
    expect((await poll(await b.quoted("AT%JWT=0,600"))).status).toBe(204);
    await b.at.close();
  });

  it("expands a rule for a tagged device when it polls, honours limit, runs cloudAccessKeyGeneration through the hook", async () => {
    const b = await simulatedBoard("svc-2");
    sim.registerIdentity(b.identity);
    const api = client();
    await api.createRule({
      name: "nRF Cloud Onboarding",
      tags: ["nrf-cloud-onboarding"],
      commands: [
        { request: { cloudAccessKeyGeneration: { secTag: 16842753 } } },
        { request: { finished: {} } },
      ],
    });
    await api.claimDevice({ claimToken: b.token, tags: ["nrf-cloud-onboarding"] });
    expect((await api.listCommands(b.modem.deviceUuid)).items).toHaveLength(0); // not until it polls
    const jwt = await b.quoted("AT%JWT=0,300");
    const first = decode(
      new Uint8Array(await (await poll(jwt, "&limit=2")).arrayBuffer()),
    ) as unknown[][];
    expect(first.map((c) => c.slice(1, 4))).toEqual([
      [0, "%CMNG", "3,16842753,2"],
      [0, "%KEYGEN", "16842753,2,0"],
    ]);
    await b.at.send("AT+CFUN=4");
    const keygen = (await b.at.send("AT%KEYGEN=16842753,2,0", { timeoutMs: 60_000 })).lines.join(
      "\n",
    );
    expect(
      (
        await respond(jwt, [
          [first[0]?.[0], 100, ""],
          [first[1]?.[0], 100, keygen],
        ])
      ).status,
    ).toBe(200);
    expect(keys).toHaveLength(1);
    expect(keys[0]?.publicKeyPem).toContain("BEGIN PUBLIC KEY");
    const [command] = (await api.listCommands(b.modem.deviceUuid)).items;
    expect(command?.status).toBe("SUCCEEDED");
    expect(keygenResponseText(command?.response, "cloudAccessKeyGeneration")).toBe(keys[0]?.keygen);
    const next = decode(
      new Uint8Array(await (await poll(jwt, `${first[1]?.[0]}&limit=2`)).arrayBuffer()),
    ) as unknown[][];
    expect(next).toEqual([[expect.any(String), 2]]);
    await b.at.close();
  });

  it("keeps at most 20 open commands per device and answers CSRs in the legacy csr field when asked", async () => {
    const b = await simulatedBoard("svc-3");
    sim.registerIdentity(b.identity);
    const api = client();
    await api.claimDevice({ claimToken: b.token });
    const uuid = b.modem.deviceUuid;
    const csr = await api.createCommand(uuid, {
      request: {
        certificateSigningRequest: { secTag: 42, attributes: "CN=x", keyUsage: "101010000" },
      },
    });
    for (let i = 1; i < 20; i++) await api.createCommand(uuid, { request: { finished: {} } });
    await expect(api.createCommand(uuid, { request: { finished: {} } })).rejects.toMatchObject({
      code: "ERR_CLOUD_HTTP",
      details: { status: 400, message: expect.stringContaining("20 provisioning commands") },
    });
    sim.faults.legacyCsrField = true;
    const jwt = await b.quoted("AT%JWT=0,300");
    const batch = decode(
      new Uint8Array(await (await poll(jwt, "&limit=2")).arrayBuffer()),
    ) as unknown[][];
    expect(batch[1]?.slice(2, 4)).toEqual(["%KEYGEN", '42,2,0,"CN=x","101010000"']);
    await respond(jwt, [
      [batch[0]?.[0], 100, ""],
      [batch[1]?.[0], 100, '%KEYGEN: "AAAAAAAAAAAAAAAAAAAA.BBBB"\r\nOK'],
    ]);
    const read = await api.getCommand(uuid, csr.id);
    expect(read.response).toEqual({
      certificateSigningRequest: { csr: "AAAAAAAAAAAAAAAAAAAA.BBBB" },
    });
    expect(keygenResponseText(read.response, "certificateSigningRequest")).toBe(
      "AAAAAAAAAAAAAAAAAAAA.BBBB",
    );
    await b.at.close();
  });
});
