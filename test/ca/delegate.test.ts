import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLedger } from "../../src/ca/index.js";
import { runCli } from "../../src/cli/main.js";
import { cliRunner, jsonOutput } from "../cli/harness.js";
import { captureIo, type PtyBoard, removeDir, startPtyBoards } from "../pipeline/fixtures.js";
import { modemLikeCsr } from "./csr-factory.js";
import { openssl, opensslText } from "./helpers.js";

const ROOT_PASSPHRASE = "root passphrase, kept offline";
const STATION_PASSPHRASE = "station S1 passphrase";

describe("ca delegate: per-station intermediate CAs under the line's root", () => {
  let dir: string;
  let run: ReturnType<typeof cliRunner>;
  const rootDir = () => join(dir, "root");
  const s1Dir = () => join(dir, "S1-ca");
  /** Both passphrases as the README sets them: the root's to unlock it, the station's new one. */
  const delegateEnv = {
    NRF_PROVISION_ROOT_CA_PASSPHRASE: ROOT_PASSPHRASE,
    NRF_PROVISION_CA_PASSPHRASE: STATION_PASSPHRASE,
  };

  beforeAll(async () => {
    const { mkdtemp } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    dir = await mkdtemp(join(tmpdir(), "nrf-provision-delegate-"));
    run = cliRunner({ cwd: dir, env: {} });
    const init = await run(
      [
        "ca",
        "init",
        "--dir",
        "root",
        "--cn",
        "Line root",
        "--org",
        "Example Corp",
        "--days",
        "100",
      ],
      { env: { NRF_PROVISION_CA_PASSPHRASE: ROOT_PASSPHRASE } },
    );
    expect(init.code, init.err).toBe(0);
    const delegated = await run(
      ["ca", "delegate", "--root-dir", "root", "--station", "S1", "--out-dir", "S1-ca", "--json"],
      { env: delegateEnv },
    );
    expect(delegated.code, delegated.err).toBe(0);
  });

  afterAll(async () => {
    if (dir) await removeDir(dir);
  });

  it("issues an intermediate: CA:TRUE pathLen 0 and keyCertSign, both critical, signed by the root, clipped to it", async () => {
    const root = new X509Certificate(await readFile(join(rootDir(), "ca.pem")));
    const s1Pem = await readFile(join(s1Dir(), "ca.pem"), "utf8");
    const s1 = new X509Certificate(s1Pem);
    expect(s1.ca).toBe(true);
    expect(s1.checkIssued(root)).toBe(true);
    expect(s1.verify(root.publicKey)).toBe(true);
    expect(s1.subject).toContain("CN=nrf-provision station S1 CA");
    expect(s1.subject).toContain("O=Example Corp");
    // --days defaults to 365, the root has 100: the station CA ends with the root.
    expect(new Date(s1.validTo).getTime()).toBe(new Date(root.validTo).getTime());
    const text = await opensslText(s1Pem, dir);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(await readFile(join(s1Dir(), "root.pem"), "utf8")).toBe(
      await readFile(join(rootDir(), "ca.pem"), "utf8"),
    );
    // Its own key, encrypted with the station's passphrase (not the root's).
    const key = await readFile(join(s1Dir(), "ca.key.pem"), "utf8");
    expect(key).toContain("BEGIN ENCRYPTED PRIVATE KEY");
    const wrong = await run(["ca", "issue", "--dir", "S1-ca", "--csr", "none.pem"], {
      env: { NRF_PROVISION_CA_PASSPHRASE: ROOT_PASSPHRASE },
    });
    expect(wrong.code).not.toBe(0);
  });

  it("device certificates from the station CA chain to the root (openssl and node:crypto), and the ledger names the issuer", async () => {
    const csr = modemLikeCsr("s1-device-1");
    await writeFile(join(dir, "s1-device-1.csr.pem"), csr.pem);
    const issued = await run(
      ["ca", "issue", "--dir", "S1-ca", "--csr", "s1-device-1.csr.pem", "--out", "dev.pem"],
      { env: { NRF_PROVISION_CA_PASSPHRASE: STATION_PASSPHRASE } },
    );
    expect(issued.code, issued.err).toBe(0);
    const verified = await openssl([
      "verify",
      "-x509_strict",
      "-purpose",
      "sslclient",
      "-CAfile",
      join(s1Dir(), "root.pem"),
      "-untrusted",
      join(s1Dir(), "ca.pem"),
      join(dir, "dev.pem"),
    ]);
    expect(verified).toContain("dev.pem: OK");
    // The root alone does not vouch for it: the intermediate is needed.
    await expect(
      openssl(["verify", "-CAfile", join(rootDir(), "ca.pem"), join(dir, "dev.pem")]),
    ).rejects.toThrow();

    const device = new X509Certificate(await readFile(join(dir, "dev.pem")));
    const s1 = new X509Certificate(await readFile(join(s1Dir(), "ca.pem")));
    const root = new X509Certificate(await readFile(join(rootDir(), "ca.pem")));
    expect(device.checkIssued(s1)).toBe(true);
    expect(device.verify(s1.publicKey)).toBe(true);
    expect(device.verify(root.publicKey)).toBe(false);
    expect(new Date(device.validTo).getTime()).toBeLessThanOrEqual(new Date(s1.validTo).getTime());

    const { entries } = await readLedger(join(s1Dir(), "ledger.jsonl"));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      deviceId: "s1-device-1",
      issuerSerialNumber: s1.serialNumber.toLowerCase(),
      issuerSha256Fingerprint: s1.fingerprint256.replaceAll(":", "").toLowerCase(),
    });
  });

  it("a batch from the station CA (worker threads) records the issuer too, and each certificate chains to the root", async () => {
    const ids = ["s1-batch-1", "s1-batch-2"];
    for (const id of ids) await writeFile(join(dir, `${id}.csr.pem`), modemLikeCsr(id).pem);
    const batch = await run(
      ["ca", "issue", "--dir", "S1-ca", "--csr", ...ids.map((id) => `${id}.csr.pem`)].concat([
        "--out-dir",
        "s1-batch",
        "--workers",
        "2",
      ]),
      { env: { NRF_PROVISION_CA_PASSPHRASE: STATION_PASSPHRASE } },
    );
    expect(batch.code, batch.err).toBe(0);
    const s1 = new X509Certificate(await readFile(join(s1Dir(), "ca.pem")));
    const { entries } = await readLedger(join(s1Dir(), "ledger.jsonl"));
    for (const id of ids) {
      expect(entries.find((entry) => entry.deviceId === id)).toMatchObject({
        issuerSerialNumber: s1.serialNumber.toLowerCase(),
      });
      const verified = await openssl([
        "verify",
        "-CAfile",
        join(s1Dir(), "root.pem"),
        "-untrusted",
        join(s1Dir(), "ca.pem"),
        join(dir, "s1-batch", `${id}.pem`),
      ]);
      expect(verified).toContain("OK");
    }
  });

  it("refuses to delegate from a station CA (pathLen 0), with a clear error", async () => {
    const result = await run(
      ["ca", "delegate", "--root-dir", "S1-ca", "--station", "S2", "--out-dir", "S2-ca"],
      {
        env: {
          NRF_PROVISION_ROOT_CA_PASSPHRASE: STATION_PASSPHRASE,
          NRF_PROVISION_CA_PASSPHRASE: "x",
        },
      },
    );
    expect(result.code).toBe(4);
    expect(result.err).toContain("is itself an intermediate (pathLen 0");
    expect(result.err).toContain("[ERR_CA_NOT_A_ROOT]");
  });

  it("refuses a wrong or missing root passphrase, naming the root's variable, and an existing CA", async () => {
    const args = ["ca", "delegate", "--root-dir", "root", "--station", "S2", "--out-dir", "S2-ca"];
    const wrong = await run(args, {
      env: { ...delegateEnv, NRF_PROVISION_ROOT_CA_PASSPHRASE: "wrong" },
    });
    expect(wrong.code).toBe(4);
    expect(wrong.err).toContain("[ERR_CA_PASSPHRASE]");
    const missing = await run(args, { env: { NRF_PROVISION_CA_PASSPHRASE: STATION_PASSPHRASE } });
    expect(missing.code).toBe(4);
    expect(missing.err).toContain("NRF_PROVISION_ROOT_CA_PASSPHRASE");
    expect(missing.err).toContain("[ERR_CA_PASSPHRASE_REQUIRED]");
    const again = await run(
      ["ca", "delegate", "--root-dir", "root", "--station", "S1", "--out-dir", "S1-ca"],
      { env: delegateEnv },
    );
    expect(again.code).toBe(4);
    expect(again.err).toContain("[ERR_CA_EXISTS]");
    const badStation = await run(
      ["ca", "delegate", "--root-dir", "root", "--station", "S 1/..", "--out-dir", "S3-ca"],
      { env: delegateEnv },
    );
    expect(badStation.code).toBe(4);
    expect(badStation.err).toContain("[ERR_CA_INVALID_SUBJECT]");
  });

  it("--json describes the station CA", async () => {
    const result = await run(
      ["ca", "delegate", "--root-dir", "root", "--station", "S4", "--out-dir", "S4-ca", "--json"],
      { env: delegateEnv },
    );
    expect(result.code, result.err).toBe(0);
    const { ca } = jsonOutput(result);
    expect(ca.subject).toContain("CN=nrf-provision station S4 CA");
    expect(ca.dir).toBe(join(dir, "S4-ca"));
    expect(result.err).toBe("");
    const same = await run(
      ["ca", "delegate", "--root-dir", "root", "--station", "S6", "--out-dir", "S6-ca"],
      { env: { ...delegateEnv, NRF_PROVISION_CA_PASSPHRASE: ROOT_PASSPHRASE } },
    );
    expect(same.code, same.err).toBe(0);
    expect(same.err).toContain("warning: the station CA gets the root's passphrase");
  });

  it("ca issue from a station CA loads no @peculiar/x509 (start-up, issue 12); ca delegate does", async () => {
    await writeFile(
      join(dir, "log-modules.mjs"),
      `import { register } from "node:module";\nregister("./log-modules-hook.mjs", import.meta.url);\n`,
    );
    await writeFile(
      join(dir, "log-modules-hook.mjs"),
      `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.MODULE_LOG, resolved.url + "\\n");
  return resolved;
}
`,
    );
    const heavyModules = async (args: string[], env: Record<string, string>, log: string) => {
      const binary = fileURLToPath(new URL("../../bin/nrf-provision.js", import.meta.url));
      const result = spawnSync(
        process.execPath,
        ["--import", "./log-modules.mjs", binary, ...args],
        {
          cwd: dir,
          env: { PATH: process.env.PATH, ...env, MODULE_LOG: join(dir, log) },
          encoding: "utf8",
        },
      );
      expect(result.status, result.stderr).toBe(0);
      const modules = (await readFile(join(dir, log), "utf8")).split("\n");
      return modules.filter((url) => /node_modules\/(@peculiar|reflect-metadata)\//.test(url));
    };
    await writeFile(join(dir, "startup.csr.pem"), modemLikeCsr("startup-device").pem);
    const issue = [
      "ca",
      "issue",
      "--dir",
      "S1-ca",
      "--csr",
      "startup.csr.pem",
      "--out",
      "startup.pem",
    ];
    expect(
      await heavyModules(issue, { NRF_PROVISION_CA_PASSPHRASE: STATION_PASSPHRASE }, "issue.log"),
    ).toEqual([]);
    const delegate = [
      "ca",
      "delegate",
      "--root-dir",
      "root",
      "--station",
      "S5",
      "--out-dir",
      "S5-ca",
    ];
    expect((await heavyModules(delegate, delegateEnv, "delegate.log")).length).toBeGreaterThan(0);
  });

  describe("provision --cert-chain", () => {
    let boards: PtyBoard[];
    beforeAll(async () => {
      boards = await startPtyBoards(3);
    });
    afterAll(async () => {
      await Promise.all(boards.map((board) => board.close()));
    });

    it("writes the device certificate and the intermediate into the client-cert slot; verified and chaining to the root", async () => {
      const board = boards[0]!;
      const { io, out } = captureIo({ NRF_PROVISION_CA_PASSPHRASE: STATION_PASSPHRASE }, dir);
      const argv = ["provision", "--port", board.path, "--ca-dir", "S1-ca", "--cert-chain"];
      const code = await runCli([...argv, "--onboard", "none", "--json"], io);
      expect(code, out()).toBe(0);
      const report = JSON.parse(out());
      expect(report.credentials.certificate).toMatchObject({ written: true, verified: true });
      const slot = board.modem.credentials().find((c) => c.type === 1)!.content;
      const s1Pem = await readFile(join(s1Dir(), "ca.pem"), "utf8");
      expect(slot).toBe(report.certificate.pem + s1Pem);
      // The modem's chain, as a TLS peer would get it, verifies against the root alone.
      await writeFile(join(dir, "slot.pem"), slot);
      await writeFile(join(dir, "leaf.pem"), report.certificate.pem);
      const verified = await openssl([
        "verify",
        "-CAfile",
        join(rootDir(), "ca.pem"),
        "-untrusted",
        join(dir, "slot.pem"),
        join(dir, "leaf.pem"),
      ]);
      expect(verified).toContain("OK");
    });

    it("station --cert-chain: a second run finds its own work (chain included) on the modem", async () => {
      const board = boards[2]!;
      const env = { NRF_PROVISION_CA_PASSPHRASE: STATION_PASSPHRASE };
      const argv = [
        "station",
        "--ports",
        board.path,
        "--ca-dir",
        "S1-ca",
        "--cert-chain",
        "--journal",
        "s1-journal.jsonl",
        "--onboard",
        "none",
        "--jsonl",
      ];
      const first = captureIo(env, dir);
      expect(await runCli(argv, first.io), first.err()).toBe(0);
      const written = /"step":"write-certificate","ms":\d+,"status":"done"/;
      expect(first.out()).toMatch(written);
      const slot = board.modem.credentials().find((c) => c.type === 1)!.content;
      expect(slot.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
      expect(slot.endsWith(await readFile(join(s1Dir(), "ca.pem"), "utf8"))).toBe(true);
      const second = captureIo(env, dir);
      expect(await runCli(argv, second.io), second.err()).toBe(0);
      expect(board.modem.credentials().find((c) => c.type === 1)!.content).toBe(slot);
      expect(second.out()).toContain('"step":"write-certificate"');
      expect(second.out()).not.toMatch(written);
    });

    it("refuses --cert-chain with a root CA (no chain to send) before touching the board", async () => {
      const board = boards[1]!;
      const { io, err } = captureIo({ NRF_PROVISION_CA_PASSPHRASE: ROOT_PASSPHRASE }, dir);
      const code = await runCli(
        [
          "provision",
          "--port",
          board.path,
          "--ca-dir",
          "root",
          "--cert-chain",
          "--onboard",
          "none",
        ],
        io,
      );
      expect(code).toBe(2);
      expect(err()).toContain('needs a station CA made by "ca delegate"');
      expect(board.modem.credentials()).toHaveLength(0);
    });
  });
});
