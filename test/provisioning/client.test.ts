import { encode } from "cborg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createProvisioningClient, type ProvisioningClient } from "../../src/provisioning/index.js";
import { type SimProvisioning, startSimProvisioning } from "../../src/sim/provisioning/index.js";
import { simulatedBoard } from "../sim/provisioning/board.js";

describe("the provisioning client against the simulated service over HTTP", () => {
  let sim: SimProvisioning;
  let client: ProvisioningClient;
  const sleeps: number[] = [];

  beforeEach(async () => {
    sim = await startSimProvisioning({ apiKey: "test-key-123456" });
    sleeps.length = 0;
    client = createProvisioningClient({
      baseUrl: sim.baseUrl,
      apiKey: sim.apiKey,
      retry: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
    });
  });
  afterEach(async () => {
    await sim.close();
  });

  it("dry-runs, claims, creates a command, and reads it back; a second claim is refused with the reason", async () => {
    const b = await simulatedBoard("client-1");
    sim.registerIdentity(b.identity);
    expect(await client.checkClaim(b.token)).toEqual({ claimable: true });
    const device = await client.claimDevice({ claimToken: b.token, tags: ["a", "b"] });
    expect(device).toMatchObject({
      id: b.modem.deviceUuid,
      tags: ["a", "b"],
      deviceType: "nrf9151_LACA",
    });
    const check = await client.checkClaim(b.token);
    expect(check).toMatchObject({ claimable: false, status: 409 });
    const command = await client.createCommand(device.id, { request: { finished: {} } });
    expect((await client.getCommand(device.id, command.id)).status).toBe("PENDING");
    expect((await client.listCommands(device.id)).items.map((c) => c.id)).toEqual([command.id]);
    await b.at.close();
  });

  it("retries a GET through a 500 storm, and does not resend a claim POST answered 500", async () => {
    const b = await simulatedBoard("client-2");
    sim.registerIdentity(b.identity);
    sim.faults.fail500 = 3;
    expect((await client.listRules()).items).toEqual([]);
    expect(sim.stats.injected500).toBe(3);
    expect(sleeps).toHaveLength(3);
    sim.faults.fail500 = 1;
    await expect(client.claimDevice({ claimToken: b.token })).rejects.toMatchObject({
      code: "ERR_CLOUD_HTTP",
      message: expect.stringContaining("may have carried it out"),
    });
    expect(sim.state.claimed.size).toBe(0);
    await b.at.close();
  });

  it.each([403, 401] as const)(
    "names an unclaimed device clearly when the service answers %d",
    async (status) => {
      sim.faults.unclaimedStatus = status;
      const uuid = "50363154-3931-44f0-8022-121b6401627d";
      await expect(client.createCommand(uuid, { request: { finished: {} } })).rejects.toMatchObject(
        {
          code: "ERR_PROVISIONING_NOT_CLAIMED",
          details: { status, deviceUuid: uuid },
          message: expect.stringContaining(`device ${uuid} is not claimed by this team`),
        },
      );
    },
  );

  it("the device side: unclaimed → 403 or 401, then a claimed device gets its CBOR commands", async () => {
    const b = await simulatedBoard("client-3");
    sim.registerIdentity(b.identity);
    const poll = async (query = "") =>
      fetch(
        `${sim.baseUrl}/provisioning/commands?after=&rxMaxSize=4096&txMaxSize=4096&mver=mfw_nrf91x1_2.0.1&cver=3.0.0${query}`,
        {
          headers: { authorization: `Bearer ${await b.jwt()}`, accept: "application/cbor" },
        },
      );
    expect((await poll()).status).toBe(403);
    sim.faults.unclaimedStatus = 401;
    expect((await poll()).status).toBe(401);
    await client.claimDevice({ claimToken: b.token });
    expect((await poll()).status).toBe(204);
    const first = await client.createCommand(b.modem.deviceUuid, {
      request: { clientPrivateKeyGeneration: { secTag: 16842753 } },
    });
    const second = await client.createCommand(b.modem.deviceUuid, { request: { finished: {} } });
    const answer = await poll("&limit=2");
    expect(answer.status).toBe(200);
    const { decode } = await import("cborg");
    const commands = decode(new Uint8Array(await answer.arrayBuffer())) as unknown[][];
    expect(commands.map((c) => c.slice(1))).toEqual([
      [0, "%CMNG", "3,16842753,2", [513]],
      [0, "%KEYGEN", "16842753,2,1", []],
    ]);
    // The delete fails with a CME code not ignored: the command fails, the rest is cancelled.
    const response = encode([[commands[0]?.[0], 99, 514, ""]]);
    const posted = await fetch(`${sim.baseUrl}/provisioning/response`, {
      method: "POST",
      headers: { authorization: `Bearer ${await b.jwt()}`, "content-type": "application/cbor" },
      body: response,
    });
    expect(posted.status).toBe(200);
    expect((await client.getCommand(b.modem.deviceUuid, first.id)).status).toBe("FAILED");
    expect((await client.getCommand(b.modem.deviceUuid, second.id)).status).toBe("CANCELLED");
    await b.at.close();
  });

  it("waitForCommand gives up after its timeout with a clear error (injected clock and sleep)", async () => {
    const b = await simulatedBoard("client-4");
    sim.registerIdentity(b.identity);
    await client.claimDevice({ claimToken: b.token });
    const command = await client.createCommand(b.modem.deviceUuid, { request: { finished: {} } });
    let now = 0;
    const waits: number[] = [];
    const waiting = createProvisioningClient({
      baseUrl: sim.baseUrl,
      apiKey: sim.apiKey,
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
      },
    });
    await expect(
      waiting.waitForCommand(b.modem.deviceUuid, command.id, {
        timeoutMs: 12_000,
        pollIntervalMs: 5_000,
      }),
    ).rejects.toMatchObject({
      code: "ERR_PROVISIONING_WAIT_TIMEOUT",
      details: { status: "PENDING", commandId: command.id },
    });
    expect(waits).toEqual([5_000, 5_000, 2_000]);
    await b.at.close();
  });

  it("reads both bulk answer shapes and maps rows back by UUID", async () => {
    const boards = await Promise.all(["bulk-1", "bulk-2", "bulk-3"].map(simulatedBoard));
    for (const b of boards) sim.registerIdentity(b.identity);
    const rows = boards.map((b) => ({
      claimToken: b.token,
      deviceUuid: b.modem.deviceUuid,
      tags: ["x", "y"],
    }));
    const chunked = createProvisioningClient({
      baseUrl: sim.baseUrl,
      apiKey: sim.apiKey,
      bulkChunkSize: 2,
    });
    const result = await chunked.claimDevices(rows);
    expect(result.chunks.map((chunk) => [chunk.firstRow, chunk.rowCount])).toEqual([
      [0, 2],
      [2, 1],
    ]);
    expect(result.rows.map((row) => row.status)).toEqual(["claimed", "claimed", "claimed"]);
    expect(sim.state.claimed.get(boards[0]!.modem.deviceUuid)?.tags).toEqual(["x", "y"]);
    const again = await chunked.claimDevices(rows.slice(0, 1));
    expect(again.rows[0]).toMatchObject({
      status: "failed",
      message: expect.stringContaining("already claimed"),
    });
    sim.faults.bulkAnswer = "bulk-ops-id";
    const accepted = await chunked.claimDevices(rows.slice(0, 1));
    expect(accepted.rows[0]).toMatchObject({
      status: "accepted",
      bulkOpsRequestId: expect.any(String),
    });
    for (const b of boards) await b.at.close();
  });
});
