import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  assertKeygenTrusted,
  type KeygenOutput,
  parseKeygenOutput,
} from "../../src/attest/index.js";
import { readVector } from "../vectors.js";

function pemToBase64Url(pem: string): string {
  const base64 = pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
  return Buffer.from(base64, "base64").toString("base64url");
}

function opensslVerifiesCsr(pem: string): boolean {
  const file = join(mkdtempSync(join(tmpdir(), "nrfp-csr-")), "csr.pem");
  writeFileSync(file, pem);
  const result = spawnSync("openssl", ["req", "-in", file, "-verify", "-noout"], {
    encoding: "utf8",
  });
  // OpenSSL 3 prints the verdict on stderr.
  return result.status === 0 && /verify OK/i.test(result.stdout + result.stderr);
}

describe("parseKeygenOutput on the captured vectors", () => {
  it("sec tag 17 CSR: exact fields and byte-exact PEMs", () => {
    const out = parseKeygenOutput(readVector("keygen_csr_sectag17_uuid50363154.txt"));
    expect(out).toMatchObject({
      kind: "csr",
      deviceUuid: "50363154-3931-44f0-8022-121b6401627d",
      secTag: 17,
      messageType: 9,
      digest: "702a3d56f05b2f72531d650825e20041e2e9d9318c34b6853ab9066e5c72e80c",
      digestMatches: true,
      digestStatus: "match",
      nonce: "1b8722ee1deb581566e2cb1359b27cd2",
      keyId: -2,
    });
    expect(out.der.length).toBe(270);
    expect(out.cose.length).toBe(153);
    expect(out.pem).toBe(readVector("keygen_csr_sectag17_expected_csr_original.pem"));
    expect(out.publicKeyPem).toBe(readVector("keygen_csr_sectag17_expected_pubkey.pem"));
    expect(out.csr).toEqual({
      subject: "CN=50363154-3931-44f0-8022-121b6401627d",
      commonName: "50363154-3931-44f0-8022-121b6401627d",
      publicKeyPem: readVector("keygen_csr_sectag17_expected_pubkey.pem"),
      signatureValid: true,
    });
    expect(() => assertKeygenTrusted(out, { secTag: 17 })).not.toThrow();
    expect(opensslVerifiesCsr(out.pem)).toBe(true);
  });

  it("sec tag 17: the re-encoded (NULL-less) CSR also verifies, and is recognised as re-encoded", () => {
    const original = readVector("keygen_csr_sectag17_uuid50363154.txt").trim();
    const reencodedPem = readVector("keygen_csr_sectag17_expected_csr_reencoded.pem");
    const cose = original.split(".")[1];
    const out = parseKeygenOutput(`${pemToBase64Url(reencodedPem)}.${cose}`);
    expect(out.pem).toBe(reencodedPem);
    expect(out.csr?.signatureValid).toBe(true);
    expect(out.digestStatus).toBe("match-after-null-reinsertion");
    expect(opensslVerifiesCsr(reencodedPem)).toBe(true);
  });

  it("sec tag 1235 normalised body: digest matches only after NULL re-insertion", () => {
    const out = parseKeygenOutput(readVector("keygen_csr_sectag1235_body_normalized.txt"));
    expect(out).toMatchObject({
      kind: "csr",
      deviceUuid: "50343956-3037-4738-800d-1f29e0a0f7bf",
      secTag: 1235,
      messageType: 9,
      digestMatches: false,
      digestStatus: "match-after-null-reinsertion",
    });
    expect(out.pem).toBe(readVector("keygen_csr_sectag1235_expected_csr.pem"));
    expect(out.publicKeyPem).toBe(readVector("keygen_csr_sectag1235_expected_pubkey.pem"));
    expect(out.csr?.commonName).toBe("50343956-3037-4738-800d-1f29e0a0f7bf");
    expect(out.csr?.signatureValid).toBe(true);
    expect(() => assertKeygenTrusted(out, { secTag: 1235 })).toThrow(
      expect.objectContaining({
        name: "AttestError",
        code: "ERR_KEYGEN_DIGEST_NORMALIZED",
        message: expect.stringMatching(
          /re-encoded without the NULL parameter.*use the modem's original output/s,
        ),
      }),
    );
  });

  it("sec tag 16 public key: SPKI body, message type 8", () => {
    const out = parseKeygenOutput(readVector("keygen_pubkey_sectag16_uuid50363154.txt"));
    expect(out).toMatchObject({
      kind: "public-key",
      deviceUuid: "50363154-3931-44f0-8022-121b6401627d",
      secTag: 16,
      messageType: 8,
      digest: "e5a2fc2a315a09d56fb1f774eaca9cb6bffd402efdfe18217547d818232d9656",
      digestStatus: "match",
      nonce: "505efc4aa80f494ef7858779d5c1c7be",
      keyId: -2,
    });
    expect(out.csr).toBeUndefined();
    expect(out.pem).toBe(out.publicKeyPem);
    expect(out.pem).toBe(
      "-----BEGIN PUBLIC KEY-----\n" +
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZKgDx0O0FKa7i1yFoxYngNdV5Csy\n" +
        "i4rEPHcFTfeBVtkkJX+G0QZs+yesfzIaPs91b4x5xYN/g28k63gkeVMJwA==\n" +
        "-----END PUBLIC KEY-----\n",
    );
    expect(() => assertKeygenTrusted(out, { secTag: 16 })).not.toThrow();
  });

  it("Thingy:91 2021 sec tag 42 CSR", () => {
    const out = parseKeygenOutput(
      readVector("keygen_csr_sectag42_uuid50363154-3932_2021_thingy91.txt"),
    );
    expect(out).toMatchObject({
      kind: "csr",
      deviceUuid: "50363154-3932-4834-802b-0908718314dc",
      secTag: 42,
      messageType: 9,
      digest: "9459394bfc1054ebc83ef9beaa39d84b8059e260a0ec1b1fddc0152067a53c63",
      digestStatus: "match",
      nonce: "545f2efeffc7ae10491f5d3b7374012d",
    });
    expect(out.csr?.subject).toBe("CN=50363154-3932-4834-802b-0908718314dc");
    expect(out.csr?.signatureValid).toBe(true);
  });

  it("wire form with CRLF and the final OK line (sec tag 52)", () => {
    const text = readVector("serial_keygen_response_sectag52_uuid50363953.txt");
    expect(text).toContain("\r\n");
    const out = parseKeygenOutput(text);
    expect(out).toMatchObject({
      kind: "csr",
      deviceUuid: "50363953-3234-4723-80b9-1503d88271bf",
      secTag: 52,
      messageType: 9,
      digest: "4da6bb67d2bef1b40fcf7606e68fe1df6aae36bd051c4b675f9569119fbc81f9",
      digestStatus: "match",
      nonce: "63c0faeefe31c77da61742f7fa66eeb9",
    });
    expect(out.csr?.commonName).toBe("50363953-3234-4723-80b9-1503d88271bf");
    expect(out.csr?.signatureValid).toBe(true);
    expect(opensslVerifiesCsr(out.pem)).toBe(true);
    // The same line without OK, and the bare blob, parse to the same result.
    const line = text.split("\r\n")[0] ?? "";
    expect(parseKeygenOutput(line).der).toEqual(out.der);
    expect(parseKeygenOutput(`  ${line.slice(10, -1)}\r\n`).der).toEqual(out.der);
  });

  it.each([
    ["transcript_2021_thingy91_linux_edited.txt"],
    ["transcript_2021_nrf9160dk_windows_edited.txt"],
  ])("KEYGEN line of %s matches what nrfcloud-utils printed", (name) => {
    const transcript = readVector(name);
    const line = transcript.split("\n").find((l) => l.startsWith("<- %KEYGEN:")) ?? "";
    const out = parseKeygenOutput(line.slice(3));
    const printed = (label: string) =>
      new RegExp(`${label}\\s+([0-9a-f-]+)`).exec(transcript)?.[1] ?? "missing";
    expect(out.deviceUuid).toBe(printed("Dev UUID:"));
    expect(out.digest).toBe(printed("SHA256:"));
    expect(out.nonce).toBe(printed("Nonce:"));
    expect(out.digestStatus).toBe("match");
    expect(out.keyId).toBe(-2);
    // The transcripts were edited to say 16842753; the COSE payload still says 42.
    expect(out.secTag).toBe(42);
    const csrPem =
      /-----BEGIN CERTIFICATE REQUEST-----\n[\s\S]*?-----END CERTIFICATE REQUEST-----\n/.exec(
        transcript,
      )?.[0];
    expect(out.pem).toBe(csrPem);
    const publicKeyPem = /-----BEGIN PUBLIC KEY-----\n[\s\S]*?-----END PUBLIC KEY-----\n/.exec(
      transcript,
    )?.[0];
    expect(out.publicKeyPem).toBe(publicKeyPem);
    expect(out.csr?.signatureValid).toBe(true);
  });
});

describe("assertKeygenTrusted", () => {
  const good = () => parseKeygenOutput(readVector("keygen_csr_sectag17_uuid50363154.txt"));

  it("rejects a digest mismatch with ERR_KEYGEN_DIGEST", () => {
    const out: KeygenOutput = { ...good(), digestMatches: false, digestStatus: "mismatch" };
    expect(() => assertKeygenTrusted(out)).toThrow(
      expect.objectContaining({
        name: "AttestError",
        code: "ERR_KEYGEN_DIGEST",
        message: expect.stringContaining("50363154-3931-44f0-8022-121b6401627d"),
      }),
    );
  });

  it("detects a body altered after the modem signed it", () => {
    const [body, cose] = readVector("keygen_csr_sectag42_uuid50363154-3932_2021_thingy91.txt")
      .trim()
      .split(".") as [string, string];
    const bytes = Buffer.from(body, "base64url");
    // Flip one bit inside the CSR signature's last byte: still a parseable CSR.
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0x01;
    const out = parseKeygenOutput(`${bytes.toString("base64url")}.${cose}`);
    expect(out.digestStatus).toBe("mismatch");
    expect(out.csr?.signatureValid).toBe(false);
    expect(() => assertKeygenTrusted(out)).toThrow(
      expect.objectContaining({ name: "AttestError", code: "ERR_KEYGEN_DIGEST" }),
    );
  });

  it("rejects another sec tag with ERR_KEYGEN_SECTAG", () => {
    expect(() => assertKeygenTrusted(good(), { secTag: 16842753 })).toThrow(
      expect.objectContaining({
        name: "AttestError",
        code: "ERR_KEYGEN_SECTAG",
        details: expect.objectContaining({ secTag: 17, expectedSecTag: 16842753 }),
      }),
    );
  });

  it("rejects an invalid CSR self-signature with ERR_CSR_SIGNATURE", () => {
    const out = good();
    const csr = out.csr;
    if (!csr) throw new Error("expected a CSR");
    expect(() => assertKeygenTrusted({ ...out, csr: { ...csr, signatureValid: false } })).toThrow(
      expect.objectContaining({ name: "AttestError", code: "ERR_CSR_SIGNATURE" }),
    );
  });
});
