import { type KeyObject, sign } from "node:crypto";

/** Minimal DER writer: just what a modem-style PKCS#10 CSR needs. */
function der(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  const length =
    body.length < 0x80
      ? Buffer.of(body.length)
      : body.length < 0x100
        ? Buffer.of(0x81, body.length)
        : Buffer.of(0x82, body.length >> 8, body.length & 0xff);
  return Buffer.concat([Buffer.of(tag), length, body]);
}

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split(".").map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let value = arc >>> 7; value > 0; value >>>= 7) chunk.unshift(0x80 | (value & 0x7f));
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

/** Subject attribute keys the simulator accepts in `%KEYGEN` attributes (nrf91-at.md §4). */
const attributeOids: Record<string, string> = {
  CN: "2.5.4.3",
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
export function keyUsageBitString(bits = "111010000"): Buffer {
  const used = bits.replace(/0+$/, "");
  const bytes = Buffer.alloc(Math.ceil(used.length / 8));
  for (const [index, bit] of [...used].entries()) {
    if (bit === "1") bytes[index >> 3] = (bytes[index >> 3] ?? 0) | (0x80 >> (index & 7));
  }
  return der(0x03, Buffer.of(bytes.length * 8 - used.length), bytes);
}

const ecdsaWithSha256 = "1.2.840.10045.4.3.2";

/**
 * A PKCS#10 CSR laid out like the modem's: version 0, the given subject (UTF8String, C as
 * PrintableString), P-256 key, extensionRequest with a non-critical keyUsage, and
 * ecdsa-with-SHA256 WITH an explicit NULL parameter in the outer signatureAlgorithm.
 */
export function buildModemCsr(options: {
  subject: SubjectAttribute[];
  spki: Uint8Array;
  privateKey: KeyObject;
  keyUsage?: string;
}): Buffer {
  const rdns = options.subject.map(([key, value]) =>
    der(
      0x31,
      der(
        0x30,
        oid(attributeOids[key] ?? ""),
        der(key === "C" ? 0x13 : 0x0c, Buffer.from(value, "utf8")),
      ),
    ),
  );
  const keyUsageExtension = der(
    0x30,
    oid("2.5.29.15"),
    der(0x04, keyUsageBitString(options.keyUsage)),
  );
  const extensionRequest = der(
    0x30,
    oid("1.2.840.113549.1.9.14"),
    der(0x31, der(0x30, keyUsageExtension)),
  );
  const info = der(
    0x30,
    der(0x02, Buffer.of(0)),
    der(0x30, ...rdns),
    options.spki,
    der(0xa0, extensionRequest),
  );
  const signature = sign("sha256", info, options.privateKey);
  const algorithm = der(0x30, oid(ecdsaWithSha256), der(0x05));
  return der(0x30, info, algorithm, der(0x03, Buffer.of(0), signature));
}
