/**
 * `sim modem` stands in for a connected board, which knows the network's time: by default its
 * clock runs (AT+CCLK? answers, `modem jwt` works); `--no-network-time` rehearses a board that
 * has not attached yet.
 */
import { describe, expect, it } from "vitest";
import { openAtClient } from "../../../src/at/index.js";
import { openSerialTransport } from "../../../src/serial/index.js";
import { socatAvailable } from "../../../src/sim/modem/index.js";
import { startCli } from "../../cli/harness.js";

const hasSocat = await socatAvailable();

async function clockAnswer(extraArgs: string[]) {
  const sim = startCli(["sim", "modem", "--json", ...extraArgs]);
  const { port } = JSON.parse(await sim.untilOutput((out) => out.trim().endsWith("}")));
  const at = await openAtClient(await openSerialTransport(port, { rtscts: false }));
  try {
    return await at.send("AT+CCLK?").then(
      (reply) => reply.lines,
      (error: { code?: string }) => error.code ?? "error",
    );
  } finally {
    await at.close();
    sim.interrupt();
    expect(await sim.exit).toBe(0);
  }
}

describe.skipIf(!hasSocat)("nrf-provision sim modem: the network's time", () => {
  it("has the time by default", async () => {
    const lines = await clockAnswer([]);
    const year = String(new Date().getUTCFullYear() % 100).padStart(2, "0");
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^\\+CCLK: "${year}/`))]);
  });

  it("--no-network-time starts without it (AT+CCLK? is an error)", async () => {
    expect(await clockAnswer(["--no-network-time"])).toBe("ERR_AT_ERROR");
  });
});
