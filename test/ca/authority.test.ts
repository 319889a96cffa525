import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { initCa, loadCa, readCaInfo } from "../../src/ca/index.js";
import { Ledger } from "../../src/ca/ledger.js";
import { openssl, opensslText, PASSPHRASE, tempDir } from "./helpers.js";

describe("CA init and load", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("creates ca.pem and an encrypted 0600 ca.key.pem with the CA extensions openssl expects", async () => {
    const caDir = join(dir, "ca");
    const info = await initCa({
      dir: caDir,
      passphrase: PASSPHRASE,
      commonName: "Factory CA",
      organization: "Acme",
      country: "NO",
      days: 400,
    });
    const key = await readFile(info.files.privateKey, "utf8");
    expect(key).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    expect((await stat(info.files.privateKey)).mode & 0o777).toBe(0o600);
    expect(info.subject).toBe("C=NO, O=Acme, CN=Factory CA");
    expect(info.serialNumber).toMatch(/^[4-7][0-9a-f]{39}$/);
    expect(info.notAfter.getTime() - info.notBefore.getTime()).toBe(400 * 86_400_000 + 5 * 60_000);
    const text = await opensslText(await readFile(info.files.certificate, "utf8"), dir);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(text).toMatch(/Subject Key Identifier/);
    expect(text).toContain("ASN1 OID: prime256v1");
    // Self-signed, and acceptable as a strict trust anchor.
    const caPath = info.files.certificate;
    expect(await openssl(["verify", "-x509_strict", "-CAfile", caPath, caPath])).toContain("OK");
  });

  it("writes only the subject fields given (no empty RDNs)", async () => {
    const info = await initCa({
      dir: join(dir, "ca"),
      passphrase: PASSPHRASE,
      commonName: "Only CN",
    });
    expect(info.subject).toBe("CN=Only CN");
  });

  it("never overwrites an existing CA", async () => {
    const caDir = join(dir, "ca");
    const first = await initCa({ dir: caDir, passphrase: PASSPHRASE });
    await expect(initCa({ dir: caDir, passphrase: PASSPHRASE })).rejects.toMatchObject({
      name: "CaError",
      code: "ERR_CA_EXISTS",
    });
    expect((await readCaInfo(caDir)).sha256Fingerprint).toBe(first.sha256Fingerprint);
  });

  it("refuses an empty passphrase; null stores the key unencrypted and loads without one", async () => {
    await expect(initCa({ dir: join(dir, "a"), passphrase: "" })).rejects.toMatchObject({
      name: "CaError",
      code: "ERR_CA_PASSPHRASE_REQUIRED",
    });
    const info = await initCa({ dir: join(dir, "b"), passphrase: null });
    expect(await readFile(info.files.privateKey, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const ca = await loadCa({ dir: join(dir, "b"), passphrase: null });
    await ca.close();
  });

  it("reports a wrong or missing passphrase clearly, without the passphrase in the message", async () => {
    const caDir = join(dir, "ca");
    await initCa({ dir: caDir, passphrase: PASSPHRASE });
    const wrong = loadCa({ dir: caDir, passphrase: "not it" });
    await expect(wrong).rejects.toMatchObject({
      name: "CaError",
      code: "ERR_CA_PASSPHRASE",
      message: expect.stringContaining("Wrong passphrase"),
    });
    await expect(wrong).rejects.toMatchObject({
      message: expect.not.stringContaining("not it"),
    });
    await expect(loadCa({ dir: caDir, passphrase: null })).rejects.toMatchObject({
      name: "CaError",
      code: "ERR_CA_PASSPHRASE_REQUIRED",
    });
  });

  it("names the missing file", async () => {
    await expect(
      loadCa({ dir: join(dir, "nothing"), passphrase: PASSPHRASE }),
    ).rejects.toMatchObject({
      code: "ERR_CA_NOT_FOUND",
      message: expect.stringContaining(join(dir, "nothing", "ca.pem")),
    });
    const caDir = join(dir, "ca");
    const info = await initCa({ dir: caDir, passphrase: PASSPHRASE });
    await rm(info.files.privateKey);
    await expect(loadCa({ dir: caDir, passphrase: PASSPHRASE })).rejects.toMatchObject({
      code: "ERR_CA_NOT_FOUND",
      message: expect.stringContaining("ca.key.pem"),
    });
  });

  it("refuses an expired CA", async () => {
    const caDir = join(dir, "ca");
    await initCa({ dir: caDir, passphrase: PASSPHRASE, days: 1 });
    const later = () => new Date(Date.now() + 2 * 86_400_000);
    await expect(
      loadCa({ dir: caDir, passphrase: PASSPHRASE, clock: later }),
    ).rejects.toMatchObject({ name: "CaError", code: "ERR_CA_EXPIRED" });
  });

  it("loads keys that openssl encrypted with stronger parameters", async () => {
    const caDir = join(dir, "ca");
    const info = await initCa({ dir: caDir, passphrase: PASSPHRASE });
    const plain = join(dir, "plain.pem");
    await openssl([
      "pkcs8",
      "-in",
      info.files.privateKey,
      "-passin",
      `pass:${PASSPHRASE}`,
      "-nocrypt",
      "-topk8",
      "-out",
      plain,
    ]);
    for (const args of [
      ["-v2", "aes-256-cbc", "-iter", "600000"],
      ["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA512"],
      ["-scrypt"],
    ]) {
      await openssl([
        "pkcs8",
        "-topk8",
        "-in",
        plain,
        "-out",
        info.files.privateKey,
        "-passout",
        `pass:${PASSPHRASE}`,
        ...args,
      ]);
      const ca = await loadCa({ dir: caDir, passphrase: PASSPHRASE });
      await ca.close();
    }
  });

  it("reports a key problem before a ledger problem, and closes a ledger it opened alongside", async () => {
    // The key's derivation and the ledger's reading run at once: what loadCa reports and
    // leaves open must not depend on which finishes first.
    const a = await initCa({ dir: join(dir, "a"), passphrase: PASSPHRASE });
    const b = await initCa({ dir: join(dir, "b"), passphrase: PASSPHRASE });
    const close = vi.spyOn(Ledger.prototype, "close");
    try {
      await expect(loadCa({ dir: a.dir, passphrase: "not it" })).rejects.toMatchObject({
        code: "ERR_CA_PASSPHRASE",
      });
      expect(close).toHaveBeenCalledTimes(1);
      await writeFile(a.files.privateKey, await readFile(b.files.privateKey));
      await expect(loadCa({ dir: a.dir, passphrase: PASSPHRASE })).rejects.toMatchObject({
        code: "ERR_CA_KEY_MISMATCH",
      });
      expect(close).toHaveBeenCalledTimes(2);
    } finally {
      close.mockRestore();
    }
  });

  it("with the key right, names a missing ledger; with it wrong, the passphrase", async () => {
    const info = await initCa({ dir: join(dir, "ca"), passphrase: PASSPHRASE });
    await rm(info.files.ledger);
    await expect(loadCa({ dir: info.dir, passphrase: "not it" })).rejects.toMatchObject({
      code: "ERR_CA_PASSPHRASE",
    });
    await expect(loadCa({ dir: info.dir, passphrase: null })).rejects.toMatchObject({
      code: "ERR_CA_PASSPHRASE_REQUIRED",
    });
    await expect(loadCa({ dir: info.dir, passphrase: PASSPHRASE })).rejects.toMatchObject({
      code: "ERR_LEDGER_MISSING",
    });
  });

  it("refuses a key that does not belong to the certificate", async () => {
    const a = await initCa({ dir: join(dir, "a"), passphrase: PASSPHRASE });
    const b = await initCa({ dir: join(dir, "b"), passphrase: PASSPHRASE });
    await writeFile(a.files.privateKey, await readFile(b.files.privateKey));
    await expect(loadCa({ dir: join(dir, "a"), passphrase: PASSPHRASE })).rejects.toMatchObject({
      name: "CaError",
      code: "ERR_CA_KEY_MISMATCH",
    });
  });
});
