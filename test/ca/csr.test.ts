import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deviceIdOf } from "../../src/ca/csr.js";
import { CaError, parseCertificationRequest, verifyCsr } from "../../src/ca/index.js";
import { Tag } from "../../src/der/index.js";
import { readVector } from "../vectors.js";
import { buildCsr, modemLikeCsr, OID } from "./csr-factory.js";

describe("CSR parsing and checks", () => {
  it("accepts the modem CSR with and without the NULL parameter (same signature)", () => {
    const original = parseCertificationRequest(
      readVector("keygen_csr_sectag17_expected_csr_original.pem"),
    );
    const reencoded = parseCertificationRequest(
      readVector("keygen_csr_sectag17_expected_csr_reencoded.pem"),
    );
    expect(original.signatureAlgorithmHasNull).toBe(true);
    expect(reencoded.signatureAlgorithmHasNull).toBe(false);
    expect(original.der.length).toBe(reencoded.der.length + 2);
    expect(Buffer.from(original.infoDer)).toEqual(Buffer.from(reencoded.infoDer));
    for (const csr of [original, reencoded]) {
      expect(() => verifyCsr(csr)).not.toThrow();
      expect(deviceIdOf(csr)).toBe("50363154-3931-44f0-8022-121b6401627d");
    }
  });

  it("accepts the sec tag 1235 CSR and the host-made CSR with a multi-RDN subject", () => {
    const modem = parseCertificationRequest(readVector("keygen_csr_sectag1235_expected_csr.pem"));
    verifyCsr(modem);
    expect(deviceIdOf(modem)).toBe("50343956-3037-4738-800d-1f29e0a0f7bf");
    const host = parseCertificationRequest(readVector("fixture_host_csr_cn_example-id.pem"));
    verifyCsr(host);
    expect(deviceIdOf(host, "example-id")).toBe("example-id");
  });

  it("reads DER input and copies subject and key as exact slices", () => {
    const built = modemLikeCsr("nrf-352656100367872");
    const csr = parseCertificationRequest(built.der);
    expect(Buffer.from(csr.spkiDer)).toEqual(
      built.publicKey.export({ type: "spki", format: "der" }),
    );
    expect(csr.commonNames).toEqual(["nrf-352656100367872"]);
  });

  it("refuses a broken signature with ERR_CSR_SIGNATURE", () => {
    const csr = parseCertificationRequest(modemLikeCsr("dev-1", { breakSignature: true }).der);
    expect(() => verifyCsr(csr)).toThrow(
      expect.objectContaining({ name: "CaError", code: "ERR_CSR_SIGNATURE" }),
    );
    // A flipped byte in the signed part fails the same way.
    const der = Buffer.from(modemLikeCsr("dev-1").der);
    const at = der.indexOf(Buffer.from("dev-1"));
    der[at] = der[at]! ^ 0x20;
    expect(() => verifyCsr(parseCertificationRequest(der))).toThrow(
      expect.objectContaining({ name: "CaError", code: "ERR_CSR_SIGNATURE" }),
    );
  });

  it("refuses RSA and P-384 keys with ERR_CSR_KEY_TYPE naming the key", () => {
    for (const [keyType, name] of [
      ["rsa", "RSA"],
      ["p384", "EC P-384"],
    ] as const) {
      const csr = parseCertificationRequest(
        buildCsr({ subject: [{ oid: OID.CN, value: "dev" }], keyType }).pem,
      );
      try {
        verifyCsr(csr);
        expect.unreachable();
      } catch (error) {
        expect((error as CaError).code).toBe("ERR_CSR_KEY_TYPE");
        expect((error as CaError).message).toContain(`a ${name} key`);
        expect((error as CaError).message).toContain("P-256");
      }
    }
  });

  it("refuses a compressed P-256 point (decided: certificates carry uncompressed keys), though it is validly self-signed", () => {
    const csr = parseCertificationRequest(modemLikeCsr("dev-1", { compressedPoint: true }).der);
    expect([0x02, 0x03]).toContain(csr.publicKeyBits[0]);
    expect(csr.publicKeyBits).toHaveLength(33);
    expect(() => verifyCsr(csr)).toThrow(
      /has a compressed P-256 public key; device certificates carry the uncompressed form/,
    );
    expect(() => verifyCsr(csr)).toThrow(
      expect.objectContaining({ name: "CaError", code: "ERR_CSR_KEY_TYPE" }),
    );
  });

  it("refuses CNs that are not device IDs, saying which rule failed", () => {
    const space = parseCertificationRequest(modemLikeCsr("my device").der);
    expect(() => deviceIdOf(space)).toThrow(/a device ID is 1 to 64 characters/);
    expect(() => deviceIdOf(space)).toThrow(
      expect.objectContaining({ name: "CaError", code: "ERR_CSR_DEVICE_ID" }),
    );
    const long = parseCertificationRequest(modemLikeCsr("a".repeat(65)).der);
    expect(() => deviceIdOf(long)).toThrow(/this one has 65/);
    expect(deviceIdOf(parseCertificationRequest(modemLikeCsr("A".repeat(64)).der))).toBe(
      "A".repeat(64),
    );
    const noCn = parseCertificationRequest(
      buildCsr({ subject: [{ oid: OID.O, value: "Acme" }] }).der,
    );
    expect(() => deviceIdOf(noCn)).toThrow(/no CN/);
  });

  it("refuses a --device-id that differs from the CN", () => {
    const csr = parseCertificationRequest(modemLikeCsr("nrf-1").der);
    expect(() => deviceIdOf(csr, "nrf-2")).toThrow(
      expect.objectContaining({ name: "CaError", code: "ERR_CSR_DEVICE_ID_MISMATCH" }),
    );
  });

  it("decodes PrintableString and BMPString CNs", () => {
    const printable = buildCsr({
      subject: [{ oid: OID.CN, value: "abc", tag: Tag.PRINTABLE_STRING }],
    });
    expect(parseCertificationRequest(printable.der).commonNames).toEqual(["abc"]);
    const bmp = buildCsr({
      subject: [
        {
          oid: OID.CN,
          value: Buffer.from("abc", "utf16le").swap16().toString("latin1"),
          tag: Tag.BMP_STRING,
        },
      ],
    });
    expect(parseCertificationRequest(bmp.der).commonNames).toEqual(["abc"]);
  });

  it("never crashes on arbitrary bytes: a parsed CSR or ERR_CSR_MALFORMED", () => {
    const valid = modemLikeCsr("fuzz").der;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }),
          fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
            const copy = Uint8Array.from(valid);
            copy[at] = byte;
            return copy;
          }),
          fc.nat(valid.length).map((n) => valid.slice(0, n)),
        ),
        (bytes) => {
          try {
            const csr = parseCertificationRequest(bytes);
            try {
              verifyCsr(csr);
            } catch (error) {
              expect(error).toBeInstanceOf(CaError);
            }
          } catch (error) {
            expect(error).toBeInstanceOf(CaError);
            expect((error as CaError).code).toBe("ERR_CSR_MALFORMED");
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});
