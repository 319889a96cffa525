import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ExitCode } from "../../src/cli/exit-codes.js";
import { openSerialTransport } from "../../src/serial/index.js";
import { startSimModemOnPty } from "../../src/sim/index.js";
import { runChild } from "./child.js";
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

describe("provision's start-up", () => {
  it("provisions with --onboard none without loading the nRF Cloud client or the CA's batch code", async () => {
    // A resolve hook (NODE_OPTIONS --import) logs every module the built CLI loads.
    const hook = join(dir, "log-modules-hook.mjs");
    writeFileSync(
      hook,
      `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.MODULE_LOG, resolved.url + "\\n");
  return resolved;
}
`,
    );
    const register = join(dir, "log-modules.mjs");
    writeFileSync(
      register,
      `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hook).href)});\n`,
    );
    const init = await runChild(["ca", "init", "--dir", "ca", "--insecure-no-passphrase"], {
      cwd: dir,
    });
    expect(init.code, init.err).toBe(0);
    const modem = await startSimModemOnPty({ seed: "provision-start-up", latencyMs: 0 });
    try {
      const log = join(dir, "modules.log");
      const run = await runChild(
        ["provision", "--port", modem.path, "--ca-dir", "ca", "--onboard", "none"],
        {
          cwd: dir,
          env: { NODE_OPTIONS: `--import ${pathToFileURL(register).href}`, MODULE_LOG: log },
        },
      );
      expect(run.code, run.err).toBe(0);
      expect(run.out).toMatch(/^provisioned /m);
      const modules = readFileSync(log, "utf8").split("\n");
      expect(modules.some((url) => url.endsWith("/dist/pipeline/provision.js"))).toBe(true);
      const unneeded = modules.filter((url) =>
        /\/dist\/(cloud\/(index|client)|pipeline\/onboarding|ca\/(index|batch|delegate))\.js$/.test(
          url,
        ),
      );
      expect([...new Set(unneeded)]).toEqual([]);
    } finally {
      await modem.close();
    }
  });
});
