// The passphrase prompt in a real pseudo-terminal, typed into as a person would, with the
// built CLI as the user runs it.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const bin = join(root, "bin", "nrf-provision.js");
const ptyRun = join(import.meta.dirname, "pty-run.py");

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Runs `nrf-provision args…` in a pseudo-terminal, answering each prompt with its keys. */
function inTerminal(cwd: string, script: Array<[string, string]>, ...args: string[]) {
  const env = { ...process.env };
  delete env.NRF_PROVISION_CA_PASSPHRASE;
  const result = spawnSync(
    "python3",
    [ptyRun, JSON.stringify(script), "--", process.execPath, bin, ...args],
    { cwd, env, encoding: "utf8", timeout: 90_000 },
  );
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { status: number; output: string };
}

function keyOpensWith(keyFile: string, passphrase: string): boolean {
  const check = spawnSync("openssl", [
    "pkey",
    "-in",
    keyFile,
    "-passin",
    `pass:${passphrase}`,
    "-noout",
  ]);
  return check.status === 0;
}

describe("the CA passphrase prompt in a real terminal", () => {
  it("ignores arrow keys, clears with Ctrl-U, edits with backspace, never echoes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nrf-pty-"));
    dirs.push(dir);
    const typed =
      "typo\u0015cor\u001b[D\u001b[Crect horse\u001b[A\u007f\u007f\u007f\u007f\u007fhorse\r";
    const run = inTerminal(
      dir,
      [
        ["New CA passphrase: ", typed],
        ["Repeat the passphrase: ", "correct horse\r"],
      ],
      "ca",
      "init",
      "--dir",
      "ca",
    );
    expect(run.status, run.output).toBe(0);
    expect(run.output).not.toMatch(/typo|correct|horse|\[D|\[C|\[A/);
    expect(keyOpensWith(join(dir, "ca", "ca.key.pem"), "correct horse")).toBe(true);
    expect(keyOpensWith(join(dir, "ca", "ca.key.pem"), "typocorrect horse")).toBe(false);
  }, 120_000);

  it("Ctrl-C aborts with exit 130 and creates nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nrf-pty-"));
    dirs.push(dir);
    const run = inTerminal(
      dir,
      [["New CA passphrase: ", "half\u0003"]],
      "ca",
      "init",
      "--dir",
      "ca",
    );
    expect(run.status, run.output).toBe(130);
    expect(run.output).toContain("interrupted");
    expect(run.output).not.toContain("half");
    expect(existsSync(join(dir, "ca", "ca.key.pem"))).toBe(false);
  }, 120_000);
});
