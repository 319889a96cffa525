import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ExitCode } from "../../src/cli/exit-codes.js";
import { openSerialTransport } from "../../src/serial/index.js";
import { startSimModemOnPty } from "../../src/sim/index.js";
import { runCliCaptured } from "./harness.js";

// `provision` opens the board's link while the CA and the pipeline load (start-up, issue 12):
// a CA that then fails must still be the error reported, and the board's port let go.

const dir = mkdtempSync(join(tmpdir(), "nrf-provision-start-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("provision opening the board before the CA", () => {
  it("reports a missing CA, writes nothing to the board and releases its port", async () => {
    const modem = await startSimModemOnPty({ seed: "provision-start", latencyMs: 0 });
    try {
      const { code, err } = await runCliCaptured(
        ["provision", "--port", modem.path, "--ca-dir", "no-ca-here", "--onboard", "none"],
        { env: {}, cwd: dir },
      );
      expect(code, err).toBe(ExitCode.CA);
      expect(err).toMatch(/no-ca-here/);
      expect(err).toMatch(/\[ERR_CA_NOT_FOUND\]/);
      // The port is opened with an exclusive lock: this open fails if the link was left open.
      const again = await openSerialTransport(modem.path);
      await again.close();
      expect(modem.modem.credentials().filter((c) => c.secTag === 16842753)).toEqual([]);
    } finally {
      await modem.close();
    }
  });
});
