import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAtClient } from "../../src/at/index.js";
import { createMemoryTransportPair } from "../../src/serial/index.js";
import { SimModem } from "../../src/sim/modem/index.js";
import { type SimProvisioning, startSimProvisioning } from "../../src/sim/provisioning/index.js";
import { runCliCaptured } from "../cli/harness.js";

async function tokenOf(seed: string): Promise<{ token: string; modem: SimModem }> {
  const modem = new SimModem({ seed, model: "nRF9151-LACA", firmware: "mfw_nrf91x1_2.0.1" });
  const [host, device] = createMemoryTransportPair();
  modem.attach(device);
  const at = await openAtClient(host, { mode: "at" });
  const token = /"([^"]+)"/.exec((await at.send("AT%ATTESTTOKEN")).lines.join("\n"))?.[1] as string;
  await at.close();
  return { token, modem };
}

describe("nrf-provision claim --token", () => {
  let sim: SimProvisioning;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    sim = await startSimProvisioning();
    env = { NRF_PROVISIONING_BASE_URL: sim.baseUrl, NRF_CLOUD_API_KEY: sim.apiKey };
  });
  afterAll(async () => sim.close());

  it("dry-runs, claims with split tags, then reports the second claim's refusal with exit 5", async () => {
    const { token, modem } = await tokenOf("cli-claim-1");
    sim.registerIdentity({
      deviceUuid: modem.deviceUuid,
      identityPublicKey: modem.identityPublicKeyPem,
    });
    const dry = await runCliCaptured(["claim", "--token", token, "--dry-run"], { env });
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toContain(`UUID ${modem.deviceUuid}: claimable`);
    expect(sim.state.claimed.size).toBe(0);
    const claimed = await runCliCaptured(["claim", "--token", token, "--tags", "a, b", "--json"], {
      env,
    });
    expect(claimed.code, claimed.err).toBe(0);
    expect(JSON.parse(claimed.out)).toMatchObject({
      ok: true,
      rows: [{ deviceUuid: modem.deviceUuid, status: "claimed" }],
    });
    expect(sim.state.claimed.get(modem.deviceUuid)?.tags).toEqual(["a", "b"]);
    const again = await runCliCaptured(["claim", "--token", token], { env });
    expect(again.code).toBe(5);
    expect(again.out).toMatch(
      /FAILED: the service refuses the claim \(HTTP 409\): .*already claimed/,
    );
    expect(again.err).toContain("[ERR_PROVISIONING_CLAIM_FAILED]");
  });

  it("refuses to run without a token or CSV, or without an API key (exit 2, nothing sent)", async () => {
    const before = sim.stats.requests;
    expect((await runCliCaptured(["claim"], { env })).code).toBe(2);
    const keyless = await runCliCaptured(["claim", "--token", "x.y"], {
      env: { NRF_PROVISIONING_BASE_URL: sim.baseUrl },
    });
    expect(keyless.code).toBe(2);
    expect(keyless.err).toContain("NRF_CLOUD_API_KEY");
    expect(
      (await runCliCaptured(["claim", "--csv", "/nonexistent/tokens.csv"], { env })).code,
    ).toBe(2);
    expect(sim.stats.requests).toBe(before);
  });

  it("does not send a malformed token: that row fails, exit 5", async () => {
    const before = sim.stats.requests;
    const result = await runCliCaptured(["claim", "--token", "not-a-token"], { env });
    expect(result.code).toBe(5);
    expect(result.out + result.err).not.toContain(sim.apiKey);
    expect(result.out).toContain("malformed token, not sent");
    expect(sim.stats.requests).toBe(before);
  });
});
