import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { type AtClient, type AtClientOptions, openAtClient } from "../../src/at/index.js";
import { openSerialTransport } from "../../src/serial/index.js";
import {
  type SimModem,
  type SimModemOptions,
  startSimModemOnPty,
} from "../../src/sim/modem/index.js";
import { AMAZON_ROOT_CA_SHA256, amazonRootCa, connectAtToSimModem } from "../sim-link.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

interface Link {
  at: AtClient;
  modem: SimModem;
  /** Drops the link from the modem side (unplug). */
  unplug(): Promise<void>;
}

const links: Record<string, (sim: SimModemOptions, client?: AtClientOptions) => Promise<Link>> = {
  memory: async (sim, client) => {
    const { at, modem, device } = await connectAtToSimModem(
      sim,
      { flushMs: 0, probeTimeoutMs: 300, ...client },
      ["memory:host", "memory:sim"],
    );
    cleanups.push(() => at.close());
    return { at, modem, unplug: async () => device.disconnect("cable pulled") };
  },
  pty: async (sim, client) => {
    const pty = await startSimModemOnPty(sim);
    cleanups.push(() => pty.close());
    const at = await openAtClient(await openSerialTransport(pty.path), {
      flushMs: 20,
      probeTimeoutMs: 500,
      ...client,
    });
    cleanups.push(() => at.close());
    return { at, modem: pty.modem, unplug: () => pty.close() };
  },
};

describe.each(Object.keys(links))("AT client against the simulated nRF91 (%s)", (kind) => {
  const connect = links[kind]!;

  it("detects AT mode and reads the identity", async () => {
    const { at, modem } = await connect({ firmware: "mfw_nrf9160_1.3.5", model: "nRF9160-SICA" });
    expect(at.mode).toBe("at");
    expect((await at.send("AT+CGSN")).lines).toEqual([modem.imei]);
    expect((await at.send("AT+CGMR")).lines).toEqual(["mfw_nrf9160_1.3.5"]);
    expect((await at.send("AT+CGMM")).lines).toEqual(["nRF9160-SICA"]);
    expect((await at.send("AT+CFUN?")).lines).toEqual(["+CFUN: 1"]);
  });

  it("routes injected URCs to listeners, not into results", async () => {
    const { at, modem } = await connect({});
    const urcs: string[] = [];
    at.onUrc((line) => urcs.push(line));
    modem.injectUrc("+CEREG: 5");
    expect((await at.send("AT+CGSN")).lines).toEqual([modem.imei]);
    await at.send("AT+CFUN?");
    expect(urcs).toContain("+CEREG: 5");
  });

  it("generates a key, writes the Amazon root CA and lists its known hash", async () => {
    const { at, modem } = await connect({});
    await at.send("AT+CFUN=4");
    const keygen = await at.send("AT%KEYGEN=42,2,0");
    expect(keygen.lines).toHaveLength(1);
    expect(keygen.lines[0]).toMatch(/^%KEYGEN: "[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"$/);
    await at.send(`AT%CMNG=0,42,0,"${amazonRootCa}"`);
    expect((await at.send("AT%CMNG=1,42,0")).lines).toEqual([
      `%CMNG: 42,0,"${AMAZON_ROOT_CA_SHA256}"`,
    ]);
    expect(modem.credentials().find((c) => c.secTag === 42 && c.type === 0)?.content).toBe(
      amazonRootCa,
    );
  });

  it("reports +CME ERROR 518 for a credential write while the modem is active", async () => {
    const { at } = await connect({ functionalMode: 1 });
    await expect(at.send(`AT%CMNG=0,42,0,"${amazonRootCa}"`)).rejects.toMatchObject({
      code: "ERR_AT_CME",
      details: { cme: 518, meaning: expect.stringMatching(/active state/) },
    });
  });

  it("times out on a stalled command", async () => {
    const { at } = await connect({ faults: { stallCommand: "AT%ATTESTTOKEN" } });
    await expect(at.send("AT%ATTESTTOKEN", { timeoutMs: 100 })).rejects.toMatchObject({
      code: "ERR_AT_TIMEOUT",
    });
  });

  it("fails in-flight and queued commands when the board is unplugged", async () => {
    const { at, unplug } = await connect({ faults: { stallCommand: "AT%KEYGEN" } });
    await at.send("AT+CFUN=4");
    // Settled into values before the unplug, so no rejection is ever unhandled.
    const keygen = at.send("AT%KEYGEN=42,2,0").catch((error: unknown) => error);
    const queued = at.send("AT+CGSN").catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await unplug();
    await expect(keygen).resolves.toMatchObject({
      code: "ERR_AT_DISCONNECTED",
      details: { command: "AT%KEYGEN=42,2,0" },
    });
    await expect(queued).resolves.toMatchObject({ code: "ERR_AT_DISCONNECTED" });
  });

  it("detects shell firmware and writes a PEM through the shell (stored with CR LF)", async () => {
    const { at, modem } = await connect({ shellMode: true });
    expect(at.mode).toBe("shell");
    expect((await at.send("AT+CGSN")).lines).toEqual([modem.imei]);
    await at.send("AT+CFUN=4");
    await at.send(`AT%CMNG=0,7,0,"${amazonRootCa}"`);
    const crlf = amazonRootCa.replace(/\n/g, "\r\n");
    expect(modem.credentials()[0]?.content).toBe(crlf);
    const expected = createHash("sha256").update(crlf).digest("hex").toUpperCase();
    expect((await at.send("AT%CMNG=1,7,0")).lines).toEqual([`%CMNG: 7,0,"${expected}"`]);
  });

  it("skips the echo of firmware that echoes commands", async () => {
    const { at, modem } = await connect({ echo: true });
    const urcs: string[] = [];
    at.onUrc((line) => urcs.push(line));
    expect((await at.send("AT+CGSN")).lines).toEqual([modem.imei]);
    expect((await at.send("AT+CFUN?")).lines).toEqual(["+CFUN: 1"]);
    expect(urcs).toEqual([]);
  });

  it("talks to CR-terminated firmware with a CR terminator", async () => {
    const { at, modem } = await connect({ terminator: "\r" }, { terminator: "\r", mode: "at" });
    expect((await at.send("AT+CGSN")).lines).toEqual([modem.imei]);
  });
});
