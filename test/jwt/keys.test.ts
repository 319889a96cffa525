import { execFileSync } from "node:child_process";
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  generateDeviceKeyPair,
  publicKeyKid,
  toDevicePrivateKey,
  toDevicePublicKey,
} from "../../src/jwt/index.js";
import { readVector, vectorPath } from "../vectors.js";
import { jwtErrorOf } from "./helpers.js";

const publicKeyPemPattern =
  /^-{5}BEGIN PUBLIC KEY-{5}(\r\n|\r|\n)([^-]+)(\r\n|\r|\n)-{5}END PUBLIC KEY-{5}(\r\n|\r|\n)$/;

function openssl(args: string[], input?: string): string {
  return execFileSync("openssl", args, { input, encoding: "utf8" });
}

describe("generateDeviceKeyPair", () => {
  it("makes a P-256 PKCS#8 private key and the matching SPKI public key, as openssl reads them", () => {
    const { privateKeyPem, publicKeyPem } = generateDeviceKeyPair();
    expect(privateKeyPem).toMatch(
      /^-----BEGIN PRIVATE KEY-----\n[^-]+\n-----END PRIVATE KEY-----\n$/,
    );
    expect(publicKeyPem).toMatch(publicKeyPemPattern);
    expect(openssl(["pkey", "-noout", "-text"], privateKeyPem)).toContain("NIST CURVE: P-256");
    expect(openssl(["pkey", "-pubout"], privateKeyPem)).toBe(publicKeyPem);
  });

  it("makes a new key every time", () => {
    expect(generateDeviceKeyPair().publicKeyPem).not.toBe(generateDeviceKeyPair().publicKeyPem);
  });
});

describe("publicKeyKid", () => {
  it("is the lowercase hex SHA-256 of the DER SubjectPublicKeyInfo (checked with openssl)", () => {
    const { privateKeyPem, publicKeyPem } = generateDeviceKeyPair();
    const der = execFileSync("openssl", ["pkey", "-pubin", "-outform", "DER"], {
      input: publicKeyPem,
    });
    const digest = execFileSync("openssl", ["dgst", "-sha256", "-r"], { input: der })
      .toString()
      .split(" ")[0];
    expect(publicKeyKid(publicKeyPem)).toBe(digest);
    expect(publicKeyKid(privateKeyPem)).toBe(digest);
  });

  it("reads the key of a device certificate issued from a modem CSR", () => {
    const certPath = vectorPath("device_cert_2021_from_modem_csr_uuid50363154-3932.pem");
    const spkiPem = openssl(["x509", "-in", certPath, "-pubkey", "-noout"]);
    expect(publicKeyKid(readVector("device_cert_2021_from_modem_csr_uuid50363154-3932.pem"))).toBe(
      publicKeyKid(spkiPem),
    );
  });
});

describe("toDevicePublicKey", () => {
  it("takes a SPKI PEM, a certificate PEM, a public or a private KeyObject", () => {
    const dir = mkdtempSync(join(tmpdir(), "nrfp-jwt-keys-"));
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const keyPath = join(dir, "key.pem");
    writeFileSync(keyPath, privateKey.export({ format: "pem", type: "pkcs8" }));
    const certPem = openssl([
      "req",
      "-x509",
      "-new",
      "-key",
      keyPath,
      "-subj",
      "/CN=dev-1",
      "-days",
      "1",
    ]);
    const spki = publicKey.export({ format: "der", type: "spki" });
    const inputs = [
      publicKey.export({ format: "pem", type: "spki" }).toString(),
      certPem,
      publicKey,
      privateKey,
    ];
    for (const input of inputs) {
      const key = toDevicePublicKey(input);
      expect(key.type).toBe("public");
      expect(key.export({ format: "der", type: "spki" })).toEqual(spki);
    }
  });

  it("refuses non-P-256 keys and unreadable PEM with ERR_JWT_KEY", () => {
    const rsaCertKey = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey;
    const inputs = [
      rsaCertKey,
      generateKeyPairSync("ec", { namedCurve: "secp384r1" }).publicKey,
      "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
      "",
    ];
    for (const input of inputs) {
      expect(jwtErrorOf(() => toDevicePublicKey(input)).code).toBe("ERR_JWT_KEY");
    }
  });
});

describe("toDevicePrivateKey", () => {
  it("reads PKCS#8 and SEC1 PEM made by openssl", () => {
    const sec1 = openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout"]);
    expect(sec1).toContain("BEGIN EC PRIVATE KEY");
    const pkcs8 = openssl(["pkcs8", "-topk8", "-nocrypt"], sec1);
    const fromSec1 = toDevicePrivateKey(sec1);
    const fromPkcs8 = toDevicePrivateKey(pkcs8);
    expect(createPublicKey(fromSec1).export({ format: "pem", type: "spki" })).toBe(
      createPublicKey(fromPkcs8).export({ format: "pem", type: "spki" }),
    );
  });
});
