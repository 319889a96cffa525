import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import {
  type SimModemOptions,
  socatAvailable,
  startSimModemOnPty,
} from "../../src/sim/modem/index.js";
import { captureIo } from "../cli/harness.js";

// The CLI in-process against the simulated modem on a socat pseudo-terminal pair, opened with
// the real serialport package: the same path a user's board takes.

const amazonRootCaPath = new URL("../../assets/AmazonRootCA1.pem", import.meta.url).pathname;
const AMAZON_SHA256 = "2c43952ee9e000ff2acc4e2ed0897c0a72ad5fa72c3d934e81741cbd54f05bd1";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

beforeAll(async () => {
  if (!(await socatAvailable())) throw new Error("socat is required (apt-get install socat)");
});

async function startSim(options: SimModemOptions = {}) {
  const sim = await startSimModemOnPty({ seed: "cli-pty", ...options });
  cleanups.push(() => sim.close());
  return sim;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "nrf-provision-modem-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Command line from a template: literal parts split on spaces, interpolations kept whole. */
function args(strings: TemplateStringsArray, ...values: unknown[]): string[] {
  const words: string[] = [];
  strings.forEach((literal, index) => {
    words.push(...literal.split(/\s+/).filter(Boolean));
    if (index < values.length) words.push(String(values[index]));
  });
  return words;
}

async function cli(argv: string[], cwd = process.cwd(), onStderr?: (text: string) => void) {
  const capture = captureIo({ cwd, env: {} });
  if (onStderr) capture.io.stderr.on("data", (chunk) => onStderr(String(chunk)));
  const exitCode = await runCli(argv, capture.io);
  return { exitCode, stdout: capture.out(), stderr: capture.err() };
}

async function cliJson(argv: string[], cwd?: string, onStderr?: (text: string) => void) {
  const result = await cli([...argv, "--json"], cwd, onStderr);
  return { ...result, json: JSON.parse(result.stdout) };
}

describe("nrf-provision modem over a pseudo-terminal", () => {
  it("modem info prints the identity, as JSON and for humans", async () => {
    const { path, modem } = await startSim({
      model: "nRF9151-LACA",
      firmware: "mfw_nrf91x1_2.0.2",
    });
    const { exitCode, json, stderr } = await cliJson(args`modem info --port ${path}`);
    expect(exitCode, stderr).toBe(0);
    expect(json).toEqual({
      imei: modem.imei,
      model: "nRF9151-LACA",
      firmware: "mfw_nrf91x1_2.0.2",
      firmwareVersion: { major: 2, minor: 0, patch: 2 },
      deviceUuid: modem.deviceUuid,
      functionalMode: 1,
    });
    // The port was closed: a second command can lock and open it again.
    const human = await cli(args`modem info --port ${path} --mode at`);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toContain(`IMEI:            ${modem.imei}`);
    expect(human.stdout).toContain(`device UUID:     ${modem.deviceUuid}`);
  });

  it("modem keygen writes the CSR and raw output, offline only for the keygen", async () => {
    const { path, modem } = await startSim();
    const dir = await tempDir();
    const { exitCode, json, stderr } = await cliJson(
      args`modem keygen --port ${path} --sec-tag 16842753 --out-dir out`,
      dir,
    );
    expect(exitCode, stderr).toBe(0);
    expect(json).toMatchObject({
      kind: "csr",
      secTag: 16842753,
      deviceUuid: modem.deviceUuid,
      digestStatus: "match",
      csr: { commonName: modem.deviceUuid, signatureValid: true },
    });
    const csrPath = join(dir, "out", `${modem.deviceUuid}.sectag16842753.csr.pem`);
    expect(json.files).toEqual([
      csrPath,
      join(dir, "out", `${modem.deviceUuid}.sectag16842753.keygen.txt`),
    ]);
    const pem = await readFile(csrPath, "utf8");
    expect(pem).toBe(json.pem);
    expect(json.der).toBe(pem.replace(/-----[^-]+-----|\n/g, ""));
    expect(await readFile(json.files[1], "utf8")).toMatch(/^%KEYGEN: "[\w-]+\.[\w-]+"\n$/);
    // OpenSSL agrees that the CSR's self-signature verifies.
    const openssl = await promisify(execFile)("openssl", [
      ...args`req -noout -verify -in ${csrPath}`,
    ]);
    expect(openssl.stdout + openssl.stderr).toMatch(/verify OK/i);
    expect(modem.functionalMode).toBe(1);
    expect(modem.credentials().map((c) => [c.secTag, c.type])).toEqual([[16842753, 2]]);
  });

  it("modem keygen --public-key writes <id>.pub.pem; --replace deletes the old key first", async () => {
    const { path, modem } = await startSim({ functionalMode: 4 });
    const dir = await tempDir();
    const { exitCode, json } = await cliJson(
      args`modem keygen --port ${path} --sec-tag 16 --public-key --out-dir ${dir}`,
    );
    expect(exitCode).toBe(0);
    expect(json.kind).toBe("public-key");
    expect(await readFile(join(dir, `${modem.deviceUuid}.sectag16.pub.pem`), "utf8")).toBe(
      json.pem,
    );
    const cn = await cliJson(
      args`modem keygen --port ${path} --sec-tag 16 --replace --verbose --attributes ${`CN=nrf-${modem.imei}`}`,
    );
    expect(cn.json.csr.commonName).toBe(`nrf-${modem.imei}`);
    expect(cn.stderr).toMatch(/^>> AT%CMNG=3,16,2\n(.*\n)*>> AT%KEYGEN=16,2,0,"CN=nrf-/m);
  });

  it("modem keygen --out-dir: sec tag 43 never overwrites sec tag 42's files; a rerun is refused", async () => {
    const { path, modem } = await startSim();
    const dir = await tempDir();
    const first = await cliJson(args`modem keygen --port ${path} --sec-tag 42 --out-dir out`, dir);
    expect(first.exitCode, first.stderr).toBe(0);
    const second = await cliJson(args`modem keygen --port ${path} --sec-tag 43 --out-dir out`, dir);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(await readFile(first.json.files[0], "utf8")).toBe(first.json.pem);
    expect(await readFile(second.json.files[0], "utf8")).toBe(second.json.pem);
    expect(first.json.pem).not.toBe(second.json.pem);
    // Same sec tag again: the earlier CSR stays; the new one is printed, not lost.
    const again = await cli(args`modem keygen --port ${path} --sec-tag 42 --out-dir out`, dir);
    expect(again.exitCode).toBe(4);
    expect(again.stderr).toMatch(/Refusing to overwrite .*sectag42\.csr\.pem.*\[ERR_IO_EXISTS\]/);
    expect(again.stdout).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
    expect(await readFile(first.json.files[0], "utf8")).toBe(first.json.pem);
    expect(modem.credentials().map((c) => c.secTag)).toEqual([42, 43]);
  });

  it("--verbose never logs a private key, PSK or PSK identity written with creds write (AT and shell mode, echo on)", async () => {
    const dir = await tempDir();
    const { generateKeyPairSync } = await import("node:crypto");
    const keyPem = generateKeyPairSync("ec", { namedCurve: "P-256" })
      .privateKey.export({ type: "sec1", format: "pem" })
      .toString();
    const secretBody = keyPem.split("\n")[1]!;
    const { writeFile } = await import("node:fs/promises");
    await writeFile(join(dir, "key.pem"), keyPem);
    await writeFile(join(dir, "psk.txt"), "0123456789abcdef0123456789abcdef");
    await writeFile(join(dir, "identity.txt"), "secret-identity-42");
    for (const sim of [{ echo: true }, { shellMode: true }]) {
      const { path } = await startSim(sim);
      const writes: Array<[string, string, string]> = [
        ["client-key", "key.pem", secretBody],
        ["psk", "psk.txt", "0123456789abcdef0123456789abcdef"],
        ["psk-identity", "identity.txt", "secret-identity-42"],
      ];
      for (const [type, file, secret] of writes) {
        const result = await cli(
          args`modem creds write --port ${path} --sec-tag 42 --type ${type} --file ${join(dir, file)} --verbose`,
        );
        expect(result.exitCode, result.stderr).toBe(0);
        expect(result.stderr).toMatch(/>> (at ')?AT%CMNG=0,42,[234],"\[\d+ characters redacted\]"/);
        expect(result.stderr).not.toContain(secret);
      }
      // A certificate is public: its write is logged whole.
      const root = await cli(
        args`modem creds write --port ${path} --sec-tag 42 --type root-ca --file ${amazonRootCaPath} --verbose`,
      );
      expect(root.stderr).toContain(
        "MIIDQTCCAimgAwIBAgITBmyfz5m/jAo54vB4ikPmljZbyjANBgkqhkiG9w0BAQsF",
      );
    }
  });

  it("modem creds write, list and delete", async () => {
    const { path, modem } = await startSim();
    const write = await cli(
      args`modem creds write --port ${path} --sec-tag 42 --type root-ca --file ${amazonRootCaPath}`,
    );
    expect(write.exitCode, write.stderr).toBe(0);
    expect(write.stdout).toContain(`SHA-256 ${AMAZON_SHA256}, verified by hash`);
    expect(modem.credentials()).toEqual([
      expect.objectContaining({ secTag: 42, type: 0, sha256: AMAZON_SHA256.toUpperCase() }),
    ]);
    expect(modem.functionalMode).toBe(1);

    const list = await cliJson(args`modem creds list --port ${path} --sec-tag 42`);
    expect(list.json).toEqual([
      { secTag: 42, type: 0, typeName: "root-ca", sha256: AMAZON_SHA256 },
    ]);
    const human = await cli(args`modem creds list --port ${path}`);
    expect(human.stdout).toMatch(new RegExp(`^42\\s+root-ca\\s+${AMAZON_SHA256}$`, "m"));

    const del = await cli(args`modem creds delete --port ${path} --sec-tag 42 --type 0`);
    expect(del.exitCode, del.stderr).toBe(0);
    expect(modem.credentials()).toEqual([]);
    const again = await cliJson(
      args`modem creds delete --port ${path} --sec-tag 42 --type root-ca`,
    );
    expect(again.exitCode).toBe(3);
    expect(again.json.error).toMatchObject({ code: "ERR_AT_CME", details: { cme: 513 } });
    const ignored = await cliJson(
      args`modem creds delete --port ${path} --sec-tag 42 --type root-ca --ignore-missing`,
    );
    expect(ignored.json).toEqual({ secTag: 42, type: 0, typeName: "root-ca", deleted: false });
  });

  it("modem jwt prints a modem-signed token", async () => {
    const { path, modem } = await startSim({ clock: () => Date.UTC(2026, 5, 1) });
    const { exitCode, json } = await cliJson(
      args`modem jwt --port ${path} --subject bench --lifetime 300`,
    );
    expect(exitCode).toBe(0);
    expect(json.claims).toMatchObject({ sub: "bench" });
    expect(String(json.claims.iss)).toContain(modem.deviceUuid);
    expect(json.token.split(".")).toHaveLength(3);
  });

  it("--verbose logs the AT traffic to stderr", async () => {
    const { path } = await startSim();
    const { stderr } = await cli(args`modem info --port ${path} --mode at --verbose`);
    expect(stderr).toMatch(/^>> AT\+CGSN$/m);
    expect(stderr).toMatch(/^<< OK$/m);
  });

  it("works with shell firmware and with URCs on the line", async () => {
    const shell = await startSim({ shellMode: true });
    const info = await cliJson(args`modem info --port ${shell.path}`);
    expect(info.json.imei).toBe(shell.modem.imei);
    const noisy = await startSim({ noise: { intervalMs: 2 } });
    const keygen = await cliJson(args`modem keygen --port ${noisy.path} --sec-tag 7`);
    expect(keygen.exitCode, keygen.stderr).toBe(0);
    expect(keygen.json.deviceUuid).toBe(noisy.modem.deviceUuid);
  });
});

describe("nrf-provision modem failures over a pseudo-terminal", () => {
  it("refuses keygen on firmware older than 1.3.0 without touching the modem", async () => {
    const { path, modem } = await startSim({ firmware: "mfw_nrf9160_1.2.3" });
    const { exitCode, json, stderr } = await cliJson(args`modem keygen --port ${path} --sec-tag 7`);
    expect(exitCode).toBe(3);
    expect(json.error.code).toBe("ERR_MODEM_FIRMWARE_TOO_OLD");
    expect(stderr).toMatch(/flash modem firmware 1\.3\.0 or newer/);
    expect(modem.functionalMode).toBe(1);
    expect(modem.credentials()).toEqual([]);
  });

  it("reports +CME ERROR from the keygen, restores the mode, writes no files", async () => {
    const { path, modem } = await startSim({ faults: { cmeOn: { "AT%KEYGEN": 523 } } });
    const dir = await tempDir();
    const { exitCode, json } = await cliJson(
      args`modem keygen --port ${path} --sec-tag 7 --out-dir ${dir}`,
    );
    expect(exitCode).toBe(3);
    expect(json.error).toMatchObject({ code: "ERR_AT_CME", details: { cme: 523 } });
    expect(json.error.message).toMatch(/key generation failed/);
    expect(modem.functionalMode).toBe(1);
    expect(modem.credentials()).toEqual([]);
    expect(await readFile(join(dir, `${modem.deviceUuid}.csr.pem`)).catch(() => null)).toBeNull();
  });

  it("reports a stalled modem as a timeout naming the command", async () => {
    const { path } = await startSim({ faults: { stallCommand: "AT+CGMR" } });
    // --timeout-ms applies to every command, and the ones before AT+CGMR must still be
    // answered in time over the PTY on a loaded machine: generous, though only AT+CGMR waits.
    const { exitCode, json } = await cliJson(
      args`modem info --port ${path} --mode at --timeout-ms 2000`,
    );
    expect(exitCode).toBe(3);
    expect(json.error).toMatchObject({ code: "ERR_AT_TIMEOUT", details: { command: "AT+CGMR" } });
  });

  it("reports a board unplugged during a credential write, storing nothing", async () => {
    // The modem hangs on the write (nothing stored) and the link then goes away, as when the
    // cable is pulled mid-command: stopping socat makes the host's port report a disconnect.
    const sim = await startSim({ functionalMode: 4, faults: { stallCommand: "AT%CMNG=0" } });
    const { exitCode, json } = await cliJson(
      args`modem creds write --port ${sim.path} --mode at --verbose --sec-tag 42 --type root-ca --file ${amazonRootCaPath}`,
      undefined,
      (text) => {
        if (text.startsWith(">> AT%CMNG=0")) void sim.close();
      },
    );
    expect(exitCode).toBe(3);
    expect(json.error.code).toBe("ERR_AT_DISCONNECTED");
    expect(json.error.message).toMatch(/closed while AT%CMNG=0,42,0.*reconnect the board/);
    expect(sim.modem.credentials()).toEqual([]);
  });

  it("reports the simulator's link-drop fault mid-write as a disconnect, storing nothing", async () => {
    const { path, modem } = await startSim({ functionalMode: 4, faults: { dropAfterBytes: 600 } });
    const { exitCode, json } = await cliJson(
      args`modem creds write --port ${path} --mode at --sec-tag 42 --type root-ca --file ${amazonRootCaPath}`,
    );
    expect(exitCode).toBe(3);
    expect(json.error.code).toBe("ERR_AT_DISCONNECTED");
    expect(modem.credentials()).toEqual([]);
  });

  it("refuses attributes with a quote before opening the port", async () => {
    const { exitCode, json } = await cliJson(
      args`modem keygen --port /dev/nonexistent-nrf91 --sec-tag 7 --attributes ${'CN=a"b'}`,
    );
    expect(exitCode).toBe(3);
    expect(json.error.code).toBe("ERR_MODEM_ATTRIBUTES");
  });

  it("refuses a reserved sec tag as a usage error", async () => {
    const { exitCode, stderr } = await cli(
      args`modem keygen --port /nonexistent --sec-tag 2147483648`,
    );
    expect(exitCode).toBe(2);
    expect(stderr).toMatch(
      /--sec-tag 2147483648 is reserved for the modem \(user sec tags are 0…2147483647\)/,
    );
  });

  it("reports a missing port as a device error", async () => {
    const { exitCode, json } = await cliJson(args`modem info --port /dev/nonexistent-nrf91`);
    expect(exitCode).toBe(3);
    expect(json.error.code).toMatch(/^ERR_(PORT|SERIAL|TRANSPORT)_/);
  });
});
