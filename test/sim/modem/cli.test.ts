import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openAtClient } from "../../../src/at/index.js";
import { openSerialTransport } from "../../../src/serial/index.js";
import { socatAvailable } from "../../../src/sim/modem/index.js";
import { runCliCaptured, startCli } from "../../cli/harness.js";

const hasSocat = await socatAvailable();

describe.skipIf(!hasSocat)("nrf-provision sim modem", () => {
  it("prints the port as JSON, serves AT on it, and stops cleanly on interrupt", async () => {
    const sim = startCli([
      "sim",
      "modem",
      "--json",
      "--seed",
      "cli-test",
      "--imei",
      "352656100367872",
    ]);
    const info = JSON.parse(await sim.untilOutput((out) => out.trim().endsWith("}")));
    expect(info).toMatchObject({
      imei: "352656100367872",
      deviceUuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(info.identityPublicKeyPem).toContain("BEGIN PUBLIC KEY");
    const at = await openAtClient(await openSerialTransport(info.port, { rtscts: false }));
    expect((await at.send("AT+CGSN")).lines).toEqual(["352656100367872"]);
    await at.close();
    sim.interrupt();
    expect(await sim.exit).toBe(0);
    expect(existsSync(info.port)).toBe(false);
  });

  it("rejects a bad terminator and IMEI as usage errors", async () => {
    expect((await runCliCaptured(["sim", "modem", "--terminator", "xx"])).code).toBe(2);
    expect((await runCliCaptured(["sim", "modem", "--imei", "12"])).code).toBe(2);
  });
});

// As a child process of the built CLI, with signals: test/cli/long-running.test.ts.
