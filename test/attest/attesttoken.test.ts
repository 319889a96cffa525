import { generateKeyPairSync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  AttestError,
  buildAttestationPayload,
  buildKeygenPayload,
  deviceTypeName,
  encodeCoseSign1,
  parseAttestationToken,
  parseKeygenOutput,
  verifyAttestation,
} from "../../src/attest/index.js";
import { readVector } from "../vectors.js";

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");

describe("parseAttestationToken", () => {
  it("parses the captured token with exact values", () => {
    const token = parseAttestationToken(readVector("attesttoken_uuid50363154.txt"));
    expect(token).toMatchObject({
      deviceUuid: "50363154-3931-44f0-8022-121b6401627d",
      deviceType: 3,
      deviceTypeName: "nRF9160 SICA",
      modemFirmwareUuid: "1aff3acb-f1a6-4764-a263-4c2646c1c654",
      nonce: "d3efdd7f04f1fc60e5858b2087343d6a",
      messageType: 1,
    });
    expect(token.message.length).toBe(57);
    expect(token.cose.length).toBe(77);
  });

  it("parses the wire form (%ATTESTTOKEN line + OK) to the same result", () => {
    const bare = parseAttestationToken(readVector("attesttoken_uuid50363154.txt"));
    const wire = parseAttestationToken(readVector("serial_attesttoken_response.txt"));
    expect(wire).toEqual(bare);
  });

  it("names device types and keeps unknown numbers", () => {
    expect([1, 2, 3, 4, 5, 6].map(deviceTypeName)).toEqual([
      "nRF9160 SIAA",
      "nRF9160 SIBA",
      "nRF9160 SICA",
      "nRF9161 LACA",
      "nRF9131 LACA",
      "nRF9151 LACA",
    ]);
    expect(deviceTypeName(9)).toBe("unknown (9)");
  });

  it("rejects a %KEYGEN line with ERR_ATTEST_MALFORMED", () => {
    const keygen = readVector("serial_keygen_response_sectag52_uuid50363953.txt");
    expect(() => parseAttestationToken(keygen)).toThrow(AttestError);
    try {
      parseAttestationToken(keygen);
    } catch (error) {
      expect((error as AttestError).code).toBe("ERR_ATTEST_MALFORMED");
      expect((error as AttestError).message).toContain("%KEYGEN");
    }
  });
});

describe("verifyAttestation with a known identity key (what the simulator does)", () => {
  const identity = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const identityPem = identity.publicKey.export({ type: "spki", format: "pem" }).toString();

  it("verifies a detached-payload attestation token and rejects another key", () => {
    const message = buildAttestationPayload({
      deviceUuid: randomBytes(16),
      deviceType: 6,
      modemFirmwareUuid: randomBytes(16),
      nonce: randomBytes(16),
    });
    const cose = encodeCoseSign1({
      payload: message,
      privateKey: identity.privateKey,
      detached: true,
    });
    // Byte layout the reference gives for the captured token.
    expect(Buffer.from(cose.subarray(0, 13)).toString("hex")).toBe("d28443a10126a1044121f65840");
    const token = parseAttestationToken(`%ATTESTTOKEN: "${b64url(message)}.${b64url(cose)}"`);
    expect(token.deviceTypeName).toBe("nRF9151 LACA");
    expect(verifyAttestation(token, identityPem)).toBe(true);
    expect(verifyAttestation(token, other.publicKey)).toBe(false);
    const tampered = {
      ...token,
      message: Uint8Array.from(token.message, (b, i) => (i === 20 ? b ^ 1 : b)),
    };
    expect(verifyAttestation(tampered, identityPem)).toBe(false);
  });

  it("verifies keygen output signed over the embedded payload", () => {
    const vector = parseKeygenOutput(readVector("keygen_pubkey_sectag16_uuid50363154.txt"));
    // Nordic's identity key is not published, so the real signature cannot verify with ours.
    expect(verifyAttestation(vector, identityPem)).toBe(false);
    const payload = buildKeygenPayload({
      messageType: 8,
      deviceUuid: Buffer.from(vector.deviceUuid.replaceAll("-", ""), "hex"),
      secTag: 16842753,
      digest: Buffer.from(vector.digest, "hex"),
      nonce: Buffer.from(vector.nonce, "hex"),
    });
    const cose = encodeCoseSign1({ payload, privateKey: identity.privateKey });
    const out = parseKeygenOutput(`${b64url(vector.der)}.${b64url(cose)}`);
    expect(out.secTag).toBe(16842753);
    expect(out.keyId).toBe(-2);
    expect(out.digestStatus).toBe("match");
    expect(verifyAttestation(out, identityPem)).toBe(true);
    expect(verifyAttestation(out, other.publicKey)).toBe(false);
  });

  it("reports an unusable identity key as ERR_ATTEST_KEY_INVALID", () => {
    const token = parseAttestationToken(readVector("attesttoken_uuid50363154.txt"));
    expect(() => verifyAttestation(token, "not a key")).toThrowError(
      expect.objectContaining({ code: "ERR_ATTEST_KEY_INVALID" }),
    );
  });
});
