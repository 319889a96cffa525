import { createPrivateKey, createPublicKey } from "node:crypto";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { initCa, loadCa } from "../../src/ca/index.js";
import { openssl, PASSPHRASE, tempDir } from "./helpers.js";

// Issue 11 item 12: the CA key's protection, checked with openssl; old keys keep loading;
// every way a key or CA folder can be wrong gets its own error or warning.

describe("CA key file", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let caDir: string;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    caDir = join(dir, "ca");
  });
  afterEach(() => cleanup());

  async function load(passphrase: string | null = PASSPHRASE) {
    const warnings: string[] = [];
    const ca = await loadCa({ dir: caDir, passphrase, onWarning: (w) => warnings.push(w) });
    await ca.close();
    return warnings;
  }

  it("ca init writes PBES2 / PBKDF2-HMAC-SHA256 with 600,000 iterations / AES-256-CBC, as openssl reads it", async () => {
    const info = await initCa({ dir: caDir, passphrase: PASSPHRASE });
    const parsed = await openssl(["asn1parse", "-in", info.files.privateKey]);
    expect(parsed).toContain(":PBES2");
    expect(parsed).toContain(":PBKDF2");
    expect(parsed).toContain(":hmacWithSHA256");
    expect(parsed).toContain(":aes-256-cbc");
    const iterations = [...parsed.matchAll(/prim: INTEGER\s+:([0-9A-F]+)/g)].map((m) =>
      Number.parseInt(m[1]!, 16),
    );
    expect(iterations).toHaveLength(1);
    expect(iterations[0]).toBeGreaterThanOrEqual(600_000);
    // openssl decrypts it with the passphrase, to the key that matches the certificate.
    const plain = await openssl([
      "pkcs8",
      "-in",
      info.files.privateKey,
      "-passin",
      `pass:${PASSPHRASE}`,
    ]);
    const certificateKey = createPublicKey(await readFile(info.files.certificate, "utf8"));
    expect(
      createPublicKey(createPrivateKey(plain)).export({ type: "spki", format: "der" }),
    ).toEqual(certificateKey.export({ type: "spki", format: "der" }));
    await expect(
      openssl(["pkcs8", "-in", info.files.privateKey, "-passin", "pass:wrong"]),
    ).rejects.toThrow();
    expect(await load()).toEqual([]);
  });

  it("a key written by earlier versions (Node's export, 2048 iterations) still loads, with advice", async () => {
    const info = await initCa({ dir: caDir, passphrase: PASSPHRASE });
    const key = createPrivateKey({
      key: await readFile(info.files.privateKey, "utf8"),
      passphrase: PASSPHRASE,
    });
    const old = key.export({
      type: "pkcs8",
      format: "pem",
      cipher: "aes-256-cbc",
      passphrase: PASSPHRASE,
    });
    await writeFile(info.files.privateKey, old);
    expect(await openssl(["asn1parse", "-in", info.files.privateKey])).toMatch(/INTEGER\s+:0800/);
    const warnings = await load();
    expect(warnings).toEqual([expect.stringContaining("only 2048 PBKDF2 iterations")]);
    expect(warnings[0]).toContain(
      "openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256 -iter 600000",
    );
  });

  it("a legacy `openssl ec -aes256` key loads, with a warning to re-encrypt it", async () => {
    const info = await initCa({ dir: caDir, passphrase: PASSPHRASE });
    const plain = join(dir, "plain.pem");
    await openssl([
      "ec",
      "-in",
      info.files.privateKey,
      "-passin",
      `pass:${PASSPHRASE}`,
      "-out",
      plain,
    ]);
    await openssl([
      "ec",
      "-in",
      plain,
      "-aes256",
      "-passout",
      `pass:${PASSPHRASE}`,
      "-out",
      info.files.privateKey,
    ]);
    const legacy = await readFile(info.files.privateKey, "utf8");
    expect(legacy).toMatch(/^-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n/);
    expect(await load()).toEqual([expect.stringContaining("legacy PEM encryption")]);
    await expect(load("wrong")).rejects.toMatchObject({ code: "ERR_CA_PASSPHRASE" });
    await expect(load(null)).rejects.toMatchObject({ code: "ERR_CA_PASSPHRASE_REQUIRED" });
  });

  it("an unencrypted key loads with a warning", async () => {
    await initCa({ dir: caDir, passphrase: null });
    expect(await load(null)).toEqual([expect.stringContaining("is NOT encrypted")]);
  });

  it("a damaged key is ERR_CA_KEY_CORRUPT, a wrong passphrase ERR_CA_PASSPHRASE", async () => {
    const info = await initCa({ dir: caDir, passphrase: PASSPHRASE });
    const pem = await readFile(info.files.privateKey, "utf8");
    await expect(load("not the passphrase")).rejects.toMatchObject({
      code: "ERR_CA_PASSPHRASE",
      message: expect.stringMatching(/^Wrong passphrase for the CA key/),
    });
    const lines = pem.split("\n");
    const truncated = [...lines.slice(0, 2), ...lines.slice(-2)].join("\n"); // body cut short
    for (const damaged of [
      truncated,
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\n@@@@\n-----END ENCRYPTED PRIVATE KEY-----\n",
      "garbage",
    ]) {
      await writeFile(info.files.privateKey, damaged);
      await expect(load()).rejects.toMatchObject({
        code: "ERR_CA_KEY_CORRUPT",
        message: expect.stringContaining(
          "This is not a passphrase problem; restore ca.key.pem from your backup",
        ),
      });
    }
  });

  it("ca init refuses subject attributes with control characters or NUL", async () => {
    for (const bad of [
      { commonName: "CA\u0000evil" },
      { organization: "Acme\u001b[2J" },
      { commonName: "x\ny" },
    ]) {
      await expect(initCa({ dir: caDir, passphrase: PASSPHRASE, ...bad })).rejects.toMatchObject({
        code: "ERR_CA_INVALID_SUBJECT",
        message: expect.stringContaining("without control characters or NUL"),
      });
    }
    await expect(stat(caDir)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("ca init refuses a folder holding another CA's ledger", async () => {
    await mkdir(caDir);
    await writeFile(join(caDir, "ledger.jsonl"), "");
    await expect(initCa({ dir: caDir, passphrase: PASSPHRASE })).rejects.toMatchObject({
      code: "ERR_CA_EXISTS",
      message: expect.stringContaining("holds a CA ledger"),
    });
  });

  it("a world-writable CA folder draws a warning", async () => {
    await initCa({ dir: caDir, passphrase: PASSPHRASE });
    await chmod(caDir, 0o777);
    expect(await load()).toEqual([expect.stringContaining(`chmod o-w ${caDir}`)]);
  });
});
