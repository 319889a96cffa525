/**
 * Minimal DER reader and writer: just what the CA needs to take CSRs apart without
 * re-encoding them (subject and public key are copied as byte slices) and to assemble
 * certificates from pre-encoded pieces.
 */

/** One decoded TLV; `start`/`end` bound the whole element, `contentStart` its value. */
export interface DerElement {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

/** Thrown by the reader on malformed input; callers wrap it into their own error. */
export class DerError extends Error {}

/** Reads the element at `offset`, bounded by `limit`. Only single-byte tags (all X.509 needs). */
export function readElement(bytes: Uint8Array, offset: number, limit = bytes.length): DerElement {
  if (offset + 2 > limit) throw new DerError(`truncated element at offset ${offset}`);
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte tag at offset ${offset}`);
  let length = bytes[offset + 1]!;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const lengthBytes = length & 0x7f;
    if (lengthBytes === 0 || lengthBytes > 3) {
      throw new DerError(`unsupported length form at offset ${offset}`);
    }
    if (contentStart + lengthBytes > limit) throw new DerError(`truncated length at ${offset}`);
    length = 0;
    for (let i = 0; i < lengthBytes; i++) length = (length << 8) | bytes[contentStart + i]!;
    contentStart += lengthBytes;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError(`element at offset ${offset} overruns its container`);
  return { tag, start: offset, contentStart, end };
}

/** The direct children of a constructed element. */
export function readChildren(bytes: Uint8Array, parent: DerElement): DerElement[] {
  const children: DerElement[] = [];
  for (let offset = parent.contentStart; offset < parent.end; ) {
    const child = readElement(bytes, offset, parent.end);
    children.push(child);
    offset = child.end;
  }
  return children;
}

/** Reads the element at `offset` and checks its tag. */
export function expectElement(
  bytes: Uint8Array,
  offset: number,
  tag: number,
  what: string,
  limit = bytes.length,
): DerElement {
  const element = readElement(bytes, offset, limit);
  if (element.tag !== tag) {
    throw new DerError(`${what}: expected tag 0x${hex2(tag)}, found 0x${hex2(element.tag)}`);
  }
  return element;
}

export function contentOf(bytes: Uint8Array, element: DerElement): Uint8Array {
  return bytes.subarray(element.contentStart, element.end);
}

export function wholeOf(bytes: Uint8Array, element: DerElement): Uint8Array {
  return bytes.subarray(element.start, element.end);
}

/** Dotted OID text of an OBJECT IDENTIFIER's content bytes. */
export function decodeOid(content: Uint8Array): string {
  if (content.length === 0) throw new DerError("empty OBJECT IDENTIFIER");
  const first = content[0]!;
  const arcs: number[] = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  let value = 0;
  for (let i = 1; i < content.length; i++) {
    const byte = content[i]!;
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0;
    }
  }
  return arcs.join(".");
}

function hex2(value: number): string {
  return value.toString(16).padStart(2, "0");
}

// --- writer -----------------------------------------------------------------------------

export function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  if (length < 0x100) return Uint8Array.of(0x81, length);
  if (length < 0x10000) return Uint8Array.of(0x82, length >> 8, length & 0xff);
  return Uint8Array.of(0x83, length >> 16, (length >> 8) & 0xff, length & 0xff);
}

/** TLV with the given tag around the concatenation of `parts`. */
export function encodeTlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let contentLength = 0;
  for (const part of parts) contentLength += part.length;
  const length = encodeLength(contentLength);
  const out = new Uint8Array(1 + length.length + contentLength);
  out[0] = tag;
  out.set(length, 1);
  let offset = 1 + length.length;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
  CONTEXT_0: 0xa0,
  CONTEXT_3: 0xa3,
} as const;

export function encodeSequence(...parts: Uint8Array[]): Uint8Array {
  return encodeTlv(Tag.SEQUENCE, ...parts);
}

/** OBJECT IDENTIFIER from dotted text. */
export function encodeOid(oid: string): Uint8Array {
  const arcs = oid.split(".").map(Number);
  const body: number[] = [arcs[0]! * 40 + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) {
      chunk.unshift((rest & 0x7f) | 0x80);
    }
    body.push(...chunk);
  }
  return encodeTlv(Tag.OID, Uint8Array.from(body));
}

/** INTEGER from unsigned big-endian magnitude bytes (adds the 0x00 sign byte when needed). */
export function encodeUnsignedInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  return trimmed[0]! & 0x80
    ? encodeTlv(Tag.INTEGER, Uint8Array.of(0), trimmed)
    : encodeTlv(Tag.INTEGER, trimmed);
}

/** UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5). Seconds precision. */
export function encodeTime(date: Date): Uint8Array {
  const year = date.getUTCFullYear();
  const rest =
    pad2(date.getUTCMonth() + 1) +
    pad2(date.getUTCDate()) +
    pad2(date.getUTCHours()) +
    pad2(date.getUTCMinutes()) +
    pad2(date.getUTCSeconds()) +
    "Z";
  if (year >= 1950 && year < 2050) {
    return encodeTlv(Tag.UTC_TIME, ascii(pad2(year % 100) + rest));
  }
  return encodeTlv(Tag.GENERALIZED_TIME, ascii(String(year).padStart(4, "0") + rest));
}

export function encodeBitString(bytes: Uint8Array): Uint8Array {
  return encodeTlv(Tag.BIT_STRING, Uint8Array.of(0), bytes);
}

function pad2(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

function ascii(text: string): Uint8Array {
  return Buffer.from(text, "latin1");
}
