import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { openAtClient } from "../../src/at/index.js";
import { createCloudClient } from "../../src/cloud/index.js";
import { openSerialTransport } from "../../src/serial/index.js";
import { socatAvailable } from "../../src/sim/modem/index.js";
import { type CliProcess, firstJson, spawnCli } from "./process.js";

const hasSocat = await socatAvailable();
const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Runs `body` with the child, and makes sure the child is gone afterwards whatever happens. */
async function withCli(args: string[], body: (cli: CliProcess) => Promise<void>): Promise<void> {
  const cli = spawnCli(args);
  try {
    await body(cli);
  } finally {
    await cli.kill();
  }
}

/**
 * The long-running commands as a user runs them: the built CLI in a child process, stopped by
 * a signal (Ctrl-C is SIGINT, `kill` is SIGTERM, closing the terminal is SIGHUP).
 */
describe.skipIf(!hasSocat)("sim modem as a process", () => {
  it.each(signals)(
    "on %s: stops, removes its port and its temporary folder, exits 0",
    async (signal) => {
      await withCli(["sim", "modem", "--json"], async (sim) => {
        const { port } = await firstJson<{ port: string }>(sim);
        const folder = dirname(port);
        const at = await openAtClient(await openSerialTransport(port, { rtscts: false }));
        expect((await at.send("AT+CFUN?")).lines).toEqual(["+CFUN: 1"]);
        await at.close();
        sim.child.kill(signal);
        expect(await sim.exit).toEqual({ code: 0, signal: null });
        expect(existsSync(port)).toBe(false);
        expect(existsSync(folder)).toBe(false);
      });
    },
  );
});

describe("sim cloud as a process", () => {
  it.each(signals)("on %s: stops listening and exits 0", async (signal) => {
    await withCli(["sim", "cloud", "--json"], async (sim) => {
      const { baseUrl, apiKey } = await firstJson<{ baseUrl: string; apiKey: string }>(sim);
      const client = createCloudClient({ baseUrl, apiKey });
      await expect(client.fetchDevice({ deviceId: "nobody" })).rejects.toMatchObject({
        code: "ERR_CLOUD_HTTP",
      });
      sim.child.kill(signal);
      expect(await sim.exit).toEqual({ code: 0, signal: null });
      await expect(fetch(`${baseUrl}/devices`)).rejects.toThrow();
    });
  });
});

describe.skipIf(!hasSocat)("demo as a process", () => {
  it("fits a 30-line, 80-column terminal and tells each step's time once", async () => {
    await withCli(["demo"], async (demo) => {
      expect(await demo.exit).toEqual({ code: 0, signal: null });
      const lines = demo.out().trimEnd().split("\n");
      const rows = lines.reduce((sum, line) => sum + Math.max(1, Math.ceil(line.length / 80)), 0);
      expect(rows, demo.out()).toBeLessThanOrEqual(30);
      for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
      expect(lines[0]).toMatch(/^nrf-provision demo: /);
      expect(demo.out()).toMatch(/^provisioned [0-9a-f-]{36} in \d+ ms\n {2}IMEI {9}\d{15}$/m);
      for (const step of ["connect", "identity", "keygen", "issue", "verify", "onboard"]) {
        expect(demo.out().match(new RegExp(`\\b${step} \\d+\\b`, "g")), step).toHaveLength(1);
      }
      expect(demo.out()).toMatch(/shadow version 1/);
      expect(demo.err()).toBe("");
    });
  }, 60_000);

  it.each(signals)(
    "on %s while running: removes its simulators and files, exits 130",
    async (signal) => {
      await withCli(["demo", "--verbose"], async (demo) => {
        const out = await demo.until((text) => /^throwaway CA in (.+)$/m.test(text));
        const simPort = /^simulated nRF91 on pseudo-terminal (.+)$/m.exec(out)?.[1];
        const caDir = /^throwaway CA in (.+)$/m.exec(out)?.[1];
        expect(simPort).toBeDefined();
        expect(caDir).toBeDefined();
        demo.child.kill(signal);
        // The board is provisioned next (hundreds of milliseconds): the signal lands before.
        expect(await demo.exit).toEqual({ code: 130, signal: null });
        expect(demo.err()).toMatch(/^demo: interrupted; /m);
        expect(demo.out()).not.toMatch(/^done in /m);
        expect(existsSync(dirname(simPort!))).toBe(false);
        expect(existsSync(dirname(caDir!))).toBe(false);
      });
    },
    60_000,
  );
});
