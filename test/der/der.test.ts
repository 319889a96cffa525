import { createPublicKey, generateKeyPairSync, X509Certificate } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DerError,
  decodeOid,
  encodeLength,
  encodeOid,
  encodeTime,
  encodeTlv,
  encodeUnsignedInteger,
  fromPemAll,
  readCertificateElements,
  readChildren,
  readElement,
  readSingle,
  spkiPublicKeyBits,
  Tag,
  toPem,
  wholeOf,
} from "../../src/der/index.js";
import { readVector } from "../vectors.js";

/** Parses or throws DerError; anything else fails the property. */
function readsOrDerError(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (error) {
    return error instanceof DerError;
  }
}

describe("DER reader and writer", () => {
  it("round-trips TLVs of every length form with offsets into the original buffer", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 70_000 }),
        fc.integer({ min: 0, max: 5 }),
        (body, pad) => {
          const tlv = encodeTlv(Tag.OCTET_STRING, body);
          const buffer = new Uint8Array(pad + tlv.length);
          buffer.set(tlv, pad);
          const element = readElement(buffer, pad);
          expect(element.end).toBe(buffer.length);
          expect(element.end - element.contentStart).toBe(body.length);
          expect(Buffer.from(wholeOf(buffer, element)).equals(tlv)).toBe(true);
          expect(wholeOf(buffer, element).buffer).toBe(buffer.buffer); // a view, not a copy
        },
      ),
      { numRuns: 60 },
    );
    expect([...encodeLength(0x7f)]).toEqual([0x7f]);
    expect([...encodeLength(0x80)]).toEqual([0x81, 0x80]);
    expect([...encodeLength(0x1234)]).toEqual([0x82, 0x12, 0x34]);
    expect([...encodeLength(0x123456)]).toEqual([0x83, 0x12, 0x34, 0x56]);
  });

  it("refuses non-minimal (BER) length forms", () => {
    expect(() => readElement(Uint8Array.of(0x04, 0x81, 0x05, 1, 2, 3, 4, 5), 0)).toThrow(
      /non-minimal/,
    );
    expect(() =>
      readElement(Uint8Array.of(0x04, 0x82, 0x00, 0x81, ...new Uint8Array(0x81)), 0),
    ).toThrow(/non-minimal/);
    expect(readElement(Uint8Array.of(0x04, 0x81, 0x80, ...new Uint8Array(0x80)), 0).end).toBe(0x83);
  });

  it("round-trips OIDs, including multi-byte first subidentifiers", () => {
    for (const oid of [
      "1.2.840.10045.4.3.2",
      "2.5.4.3",
      "2.999.1",
      "0.0",
      "1.3.6.1.4.1.311.21.20",
    ]) {
      const encoded = encodeOid(oid);
      expect(decodeOid(encoded.subarray(2))).toBe(oid);
    }
    expect(() => decodeOid(Uint8Array.of(0x2a, 0x86))).toThrow(DerError);
    expect(() => decodeOid(new Uint8Array())).toThrow(DerError);
  });

  it("encodes INTEGERs minimally and times as UTCTime / GeneralizedTime", () => {
    expect(Buffer.from(encodeUnsignedInteger(Uint8Array.of(0, 0, 0x80))).toString("hex")).toBe(
      "0202" + "0080",
    );
    expect(Buffer.from(encodeUnsignedInteger(Uint8Array.of(0, 0x7f))).toString("hex")).toBe(
      "02017f",
    );
    expect(Buffer.from(encodeTime(new Date("2049-12-31T23:59:59.900Z"))).toString("latin1")).toBe(
      "\x17\x0d491231235959Z",
    );
    expect(Buffer.from(encodeTime(new Date("2050-01-01T00:00:00Z"))).toString("latin1")).toBe(
      "\x18\x0f20500101000000Z",
    );
  });

  it("reads a certificate's fields like node:crypto does", () => {
    const pem = readVector("device_cert_2021_from_modem_csr_uuid50363154-3932.pem");
    const der = fromPemAll(pem, ["CERTIFICATE"])[0]!;
    const node = new X509Certificate(pem);
    const fields = readCertificateElements(der);
    const spki = wholeOf(der, fields.spki);
    expect(Buffer.from(spki).equals(node.publicKey.export({ type: "spki", format: "der" }))).toBe(
      true,
    );
    expect(toPem("CERTIFICATE", der)).toBe(node.toString().replace(/\r\n/g, "\n"));
    const point = createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" }).export({
      format: "jwk",
    });
    expect(Buffer.from(spkiPublicKeyBits(spki)).subarray(1, 33).toString("base64url")).toBe(
      point.x,
    );
  });

  it("PEM armour is 64 columns, LF, trailing LF, and reads back", () => {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const der = publicKey.export({ type: "spki", format: "der" });
    expect(toPem("PUBLIC KEY", der)).toBe(publicKey.export({ type: "spki", format: "pem" }));
    expect(
      Buffer.from(fromPemAll(`junk\r\n${toPem("PUBLIC KEY", der)}`, ["PUBLIC KEY"])[0]!).equals(
        der,
      ),
    ).toBe(true);
  });

  it("property: arbitrary bytes read or throw DerError, never past their container", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) =>
        readsOrDerError(() => {
          const element = readSingle(bytes, bytes[0] ?? 0, "input");
          if (element.tag & 0x20) readChildren(bytes, element);
          return readCertificateElements(bytes);
        }),
      ),
      { numRuns: 2000 },
    );
  });
});
