import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
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

describe.skipIf(!hasSocat)("nrf-provision sim modem as a process", () => {
  it("exits 0 and removes its port on SIGINT (Ctrl-C)", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "src/cli/run.ts", "sim", "modem", "--json"],
      {
        cwd: fileURLToPath(new URL("../../../", import.meta.url)),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += String(chunk);
    });
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );
    while (!out.trim().endsWith("}")) {
      if (child.exitCode !== null) throw new Error(`sim modem exited early with ${child.exitCode}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const { port } = JSON.parse(out);
    expect(existsSync(port)).toBe(true);
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(existsSync(port)).toBe(false);
  });
});
