import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { type SimModemOptions, startSimModemOnPty } from "../../src/sim/modem/index.js";
import { captureIo } from "../cli/harness.js";

// Issue 10 at the CLI, over a socat pseudo-terminal: credential writes through shell firmware
// that applies Zephyr's rules, and the modem's reserved entries.

const amazonRootCaPath = new URL("../../assets/AmazonRootCA1.pem", import.meta.url).pathname;
const amazonRootCa = await readFile(amazonRootCaPath, "utf8");
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A simulated board that records every AT command it receives. */
async function startSim(options: SimModemOptions = {}) {
  const received: string[] = [];
  const sim = await startSimModemOnPty({
    seed: "cli-shell-creds",
    onCommand: (command) => received.push(command),
    ...options,
  });
  cleanups.push(() => sim.close());
  return { ...sim, received };
}

async function cli(...argv: string[]) {
  const capture = captureIo({ cwd: process.cwd(), env: {} });
  const exitCode = await runCli([...argv, "--json"], capture.io);
  const stdout = capture.out();
  return { exitCode, stderr: capture.err(), json: stdout ? JSON.parse(stdout) : undefined };
}

const write = (port: string, ...extra: string[]) =>
  cli(
    "modem",
    "creds",
    "write",
    "--port",
    port,
    "--sec-tag",
    "42",
    "--type",
    "root-ca",
    "--file",
    amazonRootCaPath,
    ...extra,
  );

describe("modem creds write through shell firmware", () => {
  it("stores Amazon Root CA 1 with CR LF and verifies the hash the modem lists", async () => {
    const sim = await startSim({ shellMode: true });
    const { exitCode, json, stderr } = await write(sim.path, "--mode", "shell");
    expect(exitCode, stderr).toBe(0);
    const crlf = amazonRootCa.replaceAll("\n", "\r\n");
    const [stored] = sim.modem.credentials();
    expect(stored).toMatchObject({ secTag: 42, type: 0, content: crlf });
    expect(json).toMatchObject({ sha256: sha256(crlf), bytes: crlf.length, verification: "hash" });
    expect(json.sha256.toUpperCase()).toBe(stored?.sha256);
    // The modem got the whole command (not cut at the space in "BEGIN CERTIFICATE").
    expect(sim.received).toContain(`AT%CMNG=0,42,0,"${crlf}"`);
  });

  it("auto-detects the shell and writes the same way", async () => {
    const sim = await startSim({ shellMode: true });
    const { exitCode, json } = await write(sim.path);
    expect(exitCode).toBe(0);
    expect(json.sha256).toBe(sha256(amazonRootCa.replaceAll("\n", "\r\n")));
  });

  it("fails after the listing, with the firmware advice, when the shell keeps \\n as is", async () => {
    const sim = await startSim({ shellMode: true, shellLfUnescape: false });
    const { exitCode, json } = await write(sim.path, "--mode", "shell");
    expect(exitCode).toBe(3);
    expect(json.error).toMatchObject({
      code: "ERR_MODEM_CREDENTIAL_VERIFY",
      details: { expected: sha256(amazonRootCa.replaceAll("\n", "\r\n")), expectedForm: "crlf" },
    });
    expect(json.error.message).toMatch(/CR LF.*the shell altered the bytes/i);
    expect(json.error.message).toMatch(/CONFIG_AT_SHELL_UNESCAPE_LF=y.*at at_cmd_mode start/);
    expect(json).not.toHaveProperty("verification"); // nothing is reported as written
    expect(sim.received).toContain("AT%CMNG=1,42,0"); // the listing was asked for
  });

  it("with --no-shell-lf-unescape and --mode shell, refuses before the port is opened", async () => {
    const sim = await startSim({ shellMode: true, shellLfUnescape: false });
    const { exitCode, json } = await write(sim.path, "--mode", "shell", "--no-shell-lf-unescape");
    expect(exitCode).toBe(3);
    expect(json.error.code).toBe("ERR_MODEM_SHELL_LF_UNESCAPE");
    expect(json.error.message).toMatch(
      /CONFIG_AT_SHELL_UNESCAPE_LF=y.*at at_cmd_mode start.*Nothing was sent/,
    );
    expect(sim.received).toEqual([]);
  });

  it("with --no-shell-lf-unescape and an auto-detected shell, sends nothing but the probe", async () => {
    const sim = await startSim({ shellMode: true, shellLfUnescape: false });
    const { exitCode, json } = await write(sim.path, "--no-shell-lf-unescape");
    expect(exitCode).toBe(3);
    expect(json.error.code).toBe("ERR_MODEM_SHELL_LF_UNESCAPE");
    expect(sim.received).toEqual(["AT+CGSN", "AT+CMEE=1"]);
    expect(sim.modem.functionalMode).toBe(1);
  });

  it("refuses an empty file before sending", async () => {
    const sim = await startSim();
    const { exitCode, json } = await cli(
      "modem",
      "creds",
      "write",
      "--port",
      sim.path,
      "--sec-tag",
      "42",
      "--type",
      "root-ca",
      "--file",
      "/dev/null",
    );
    expect(exitCode).toBe(3);
    expect(json.error).toMatchObject({ code: "ERR_MODEM_CREDENTIAL_CONTENT" });
    expect(sim.received.filter((command) => command.startsWith("AT%CMNG=0"))).toEqual([]);
  });
});

describe("the modem's reserved entries", () => {
  it("are hidden from modem creds list unless --all", async () => {
    const sim = await startSim();
    const plain = await cli("modem", "creds", "list", "--port", sim.path);
    expect(plain.json).toEqual([]);
    const all = await cli("modem", "creds", "list", "--port", sim.path, "--all");
    expect(
      all.json.map((entry: { secTag: number; type: number }) => [entry.secTag, entry.type]),
    ).toEqual([
      [4294967293, 10],
      [4294967294, 6],
      [4294967292, 11],
    ]);
    expect(all.json[0].typeName).toBe("nordic-identity-root-ca");
  });

  it("cannot be written or deleted: refused before anything is sent", async () => {
    const sim = await startSim();
    for (const argv of [["write", "--file", amazonRootCaPath], ["delete"]]) {
      const [verb, ...rest] = argv as [string, ...string[]];
      const { exitCode, stderr } = await cli(
        "modem",
        "creds",
        verb,
        "--port",
        sim.path,
        "--sec-tag",
        "4294967292",
        "--type",
        "11",
        ...rest,
      );
      expect(exitCode).toBe(2);
      expect(stderr).toMatch(/4294967292 is reserved for the modem.*nothing was sent/);
    }
    expect(sim.received).toEqual([]);
  });
});
