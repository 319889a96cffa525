import { type KeyObject, sign } from "node:crypto";
import {
  encodeBitString,
  encodeOid,
  encodeSequence,
  encodeTlv,
  OID_COMMON_NAME,
  OID_ECDSA_SHA256,
  Tag,
} from "../../der/index.js";

/** Subject attribute keys the simulator accepts in `%KEYGEN` attributes (nrf91-at.md §4). */
const attributeOids: Record<string, string> = {
  CN: OID_COMMON_NAME,
  C: "2.5.4.6",
  L: "2.5.4.7",
  ST: "2.5.4.8",
  O: "2.5.4.10",
  OU: "2.5.4.11",
};

export type SubjectAttribute = [key: string, value: string];

/** Parses `"CN=x,O=y"` into attributes; null if a key is unknown or a part has no `=`. */
export function parseSubjectAttributes(text: string): SubjectAttribute[] | null {
  const attributes: SubjectAttribute[] = [];
  for (const part of text.split(",")) {
    const match = /^\s*([A-Za-z]+)=(.*)$/.exec(part);
    const key = match?.[1]?.toUpperCase();
    if (!match || !key || !(key in attributeOids) || match[2] === undefined) return null;
    attributes.push([key, match[2]]);
  }
  return attributes;
}

/**
 * The keyUsage BIT STRING for a 9-character `<key_usage>` (X.509 bits 0–8, presumed order;
 * nrf91-at.md §4). DER drops trailing zero bits. Default `03 02 03 e8`, as in real modem CSRs.
 */
export function keyUsageBitString(bits = "111010000"): Uint8Array {
  const used = bits.replace(/0+$/, "");
  const bytes = Buffer.alloc(Math.ceil(used.length / 8));
  for (const [index, bit] of [...used].entries()) {
    if (bit === "1") bytes[index >> 3] = (bytes[index >> 3] ?? 0) | (0x80 >> (index & 7));
  }
  return encodeTlv(Tag.BIT_STRING, Uint8Array.of(bytes.length * 8 - used.length), bytes);
}

/**
 * A PKCS#10 CSR laid out like the modem's: version 0, the given subject (UTF8String, C as
 * PrintableString), P-256 key, extensionRequest with a non-critical keyUsage, and
 * ecdsa-with-SHA256 WITH an explicit NULL parameter in the outer signatureAlgorithm.
 */
export function buildModemCsr(options: {
  subject: SubjectAttribute[];
  spki: Uint8Array;
  privateKey: KeyObject;
  keyUsage?: string | undefined;
}): Uint8Array {
  const rdns = options.subject.map(([key, value]) =>
    encodeTlv(
      Tag.SET,
      encodeSequence(
        encodeOid(attributeOids[key] ?? ""),
        encodeTlv(key === "C" ? Tag.PRINTABLE_STRING : Tag.UTF8_STRING, Buffer.from(value, "utf8")),
      ),
    ),
  );
  const keyUsageExtension = encodeSequence(
    encodeOid("2.5.29.15"),
    encodeTlv(Tag.OCTET_STRING, keyUsageBitString(options.keyUsage)),
  );
  const extensionRequest = encodeSequence(
    encodeOid("1.2.840.113549.1.9.14"),
    encodeTlv(Tag.SET, encodeSequence(keyUsageExtension)),
  );
  const info = encodeSequence(
    encodeTlv(Tag.INTEGER, Uint8Array.of(0)),
    encodeSequence(...rdns),
    options.spki,
    encodeTlv(Tag.CONTEXT_0, extensionRequest),
  );
  const signature = sign("sha256", info, options.privateKey);
  const algorithm = encodeSequence(encodeOid(OID_ECDSA_SHA256), encodeTlv(Tag.NULL));
  return encodeSequence(info, algorithm, encodeBitString(signature));
}
