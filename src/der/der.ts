/**
 * DER, just as much as the project needs: a reader that returns offsets into the buffer it
 * was given (so callers can copy or hash the exact bytes of any element without re-encoding)
 * and a TLV writer. Used by the attestation parser, the CA (CSR parsing, certificate
 * assembly) and the simulators.
 */

/** One TLV inside a buffer: `start`..`end` bound the whole element, `contentStart` its value. */
export interface DerElement {
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

/**
 * Malformed DER. Internal to the parsers: each caller maps it to its own error code
 * (ERR_KEYGEN_MALFORMED, ERR_CSR_MALFORMED …) and keeps the message as the detail.
 */
export class DerError extends Error {
  override readonly name = "DerError";
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

// --- reader ------------------------------------------------------------------------------

/**
 * Reads the element at `offset`, which must end by `limit`. Single-byte tags and definite
 * lengths of up to 4 length bytes only (everything X.509 and PKCS#10 use).
 */
export function readElement(bytes: Uint8Array, offset: number, limit = bytes.length): DerElement {
  if (offset >= limit) throw new DerError(`truncated DER at byte ${offset}`);
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) {
    throw new DerError(`unsupported high tag number at byte ${offset}`);
  }
  if (offset + 1 >= limit) throw new DerError(`truncated DER length at byte ${offset + 1}`);
  let length = bytes[offset + 1]!;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) {
      throw new DerError(
        `unsupported DER length form 0x${length.toString(16)} at byte ${offset + 1}`,
      );
    }
    if (contentStart + count > limit) {
      throw new DerError(`truncated DER length at byte ${offset + 1}`);
    }
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[contentStart + i]!;
    // DER: the shortest length form (certificates copy these bytes, so they must be DER).
    if (length < 0x80 || bytes[contentStart] === 0) {
      throw new DerError(`non-minimal DER length at byte ${offset + 1}`);
    }
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) {
    throw new DerError(
      `DER element at byte ${offset} claims ${length} bytes but only ${limit - contentStart} remain`,
    );
  }
  return { tag, start: offset, contentStart, end };
}

/** Reads the element at `offset` and checks its tag; `what` names it in the error. */
export function expectElement(
  bytes: Uint8Array,
  offset: number,
  tag: number,
  what: string,
  limit = bytes.length,
): DerElement {
  return expectTag(readElement(bytes, offset, limit), tag, what);
}

/** `element` itself when its tag is `tag`. */
export function expectTag(element: DerElement, tag: number, what: string): DerElement {
  if (element.tag !== tag) {
    throw new DerError(`${what}: expected DER tag 0x${hex2(tag)}, found 0x${hex2(element.tag)}`);
  }
  return element;
}

/** `bytes` as exactly one element with tag `tag` (no trailing bytes). */
export function readSingle(bytes: Uint8Array, tag: number, what: string): DerElement {
  const element = expectElement(bytes, 0, tag, what);
  if (element.end !== bytes.length) {
    throw new DerError(
      `${what}: ${bytes.length - element.end} unexpected byte(s) after the DER element`,
    );
  }
  return element;
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

/** The element's value bytes (a view, not a copy). */
export function contentOf(bytes: Uint8Array, element: DerElement): Uint8Array {
  return bytes.subarray(element.contentStart, element.end);
}

/** The whole element, header included, exactly as encoded (a view, not a copy). */
export function wholeOf(bytes: Uint8Array, element: DerElement): Uint8Array {
  return bytes.subarray(element.start, element.end);
}

/** A BIT STRING's bits as whole bytes; DerError if it has unused bits. */
export function bitStringBytes(bytes: Uint8Array, element: DerElement, what: string): Uint8Array {
  expectTag(element, Tag.BIT_STRING, what);
  if (element.contentStart >= element.end || bytes[element.contentStart] !== 0) {
    throw new DerError(`${what}: the BIT STRING is empty or has unused bits`);
  }
  return bytes.subarray(element.contentStart + 1, element.end);
}

/** Dotted text of an OBJECT IDENTIFIER's content bytes (X.690 §8.19). */
export function decodeOid(content: Uint8Array): string {
  if (content.length === 0) throw new DerError("empty OBJECT IDENTIFIER");
  if (content[content.length - 1]! & 0x80) throw new DerError("truncated OBJECT IDENTIFIER");
  let text = "";
  let value = 0;
  let first = true;
  for (let i = 0; i < content.length; i++) {
    const byte = content[i]!;
    value = value * 128 + (byte & 0x7f);
    if (byte & 0x80) continue;
    if (first) {
      // The first subidentifier packs two arcs: 40·x + y, x ∈ {0, 1, 2}.
      const arc = value < 80 ? Math.floor(value / 40) : 2;
      text = `${arc}.${value - arc * 40}`;
      first = false;
    } else {
      text += `.${value}`;
    }
    value = 0;
  }
  return text;
}

/** The OID of an OBJECT IDENTIFIER element, or DerError naming `what`. */
export function readOid(bytes: Uint8Array, element: DerElement, what: string): string {
  return decodeOid(contentOf(bytes, expectTag(element, Tag.OID, what)));
}

/**
 * The fields of an X.509 Certificate (RFC 5280 §4.1), as elements of `der`: the signed
 * TBSCertificate and, inside it, issuer, subject and SubjectPublicKeyInfo.
 */
export interface CertificateElements {
  tbs: DerElement;
  serial: DerElement;
  issuer: DerElement;
  validity: DerElement;
  subject: DerElement;
  spki: DerElement;
  signatureAlgorithm: DerElement;
  signature: DerElement;
}

export function readCertificateElements(der: Uint8Array): CertificateElements {
  const certificate = readSingle(der, Tag.SEQUENCE, "Certificate");
  const [tbs, signatureAlgorithm, signature, ...rest] = readChildren(der, certificate);
  if (!tbs || !signatureAlgorithm || !signature || rest.length > 0) {
    throw new DerError("Certificate is not {tbsCertificate, signatureAlgorithm, signature}");
  }
  expectTag(tbs, Tag.SEQUENCE, "TBSCertificate");
  const fields = readChildren(der, tbs);
  const first = fields[0]?.tag === Tag.CONTEXT_0 ? 1 : 0; // explicit version (v2, v3)
  const [serial, , issuer, validity, subject, spki] = fields.slice(first);
  if (!serial || !issuer || !validity || !subject || !spki) {
    throw new DerError("TBSCertificate has fewer fields than X.509 requires");
  }
  expectTag(serial, Tag.INTEGER, "TBSCertificate serialNumber");
  expectTag(issuer, Tag.SEQUENCE, "TBSCertificate issuer");
  expectTag(subject, Tag.SEQUENCE, "TBSCertificate subject");
  expectTag(spki, Tag.SEQUENCE, "TBSCertificate subjectPublicKeyInfo");
  return { tbs, serial, issuer, validity, subject, spki, signatureAlgorithm, signature };
}

/** The subjectPublicKey bits (for EC keys, the point) of a SubjectPublicKeyInfo DER. */
export function spkiPublicKeyBits(spkiDer: Uint8Array): Uint8Array {
  const spki = readSingle(spkiDer, Tag.SEQUENCE, "SubjectPublicKeyInfo");
  const [algorithm, key] = readChildren(spkiDer, spki);
  if (!algorithm || !key) throw new DerError("SubjectPublicKeyInfo has fewer than 2 fields");
  return bitStringBytes(spkiDer, key, "SubjectPublicKeyInfo subjectPublicKey");
}

function hex2(value: number): string {
  return value.toString(16).padStart(2, "0");
}

// --- writer ------------------------------------------------------------------------------

/** Bytes a DER length field for `length` takes. */
function lengthFieldSize(length: number): number {
  if (length < 0x80) return 1;
  let size = 1;
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) size++;
  return size;
}

/** Writes the length field for `length` at `offset` of `out`. */
function writeLength(out: Uint8Array, offset: number, length: number, size: number): void {
  if (size === 1) {
    out[offset] = length;
    return;
  }
  out[offset] = 0x80 | (size - 1);
  for (let i = size - 1, rest = length; i >= 1; i--, rest = Math.floor(rest / 256)) {
    out[offset + i] = rest % 256;
  }
}

/** A DER length field. */
export function encodeLength(length: number): Uint8Array {
  const size = lengthFieldSize(length);
  const out = new Uint8Array(size);
  writeLength(out, 0, length, size);
  return out;
}

/** TLV with the given tag around the concatenation of `parts` (one allocation). */
export function encodeTlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let contentLength = 0;
  for (const part of parts) contentLength += part.length;
  const size = lengthFieldSize(contentLength);
  const out = new Uint8Array(1 + size + contentLength);
  out[0] = tag;
  writeLength(out, 1, contentLength, size);
  let offset = 1 + size;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function encodeSequence(...parts: Uint8Array[]): Uint8Array {
  return encodeTlv(Tag.SEQUENCE, ...parts);
}

/** OBJECT IDENTIFIER element from dotted text. */
export function encodeOid(oid: string): Uint8Array {
  const arcs = oid.split(".").map(Number);
  if (arcs.length < 2 || arcs.some((arc) => !Number.isSafeInteger(arc) || arc < 0)) {
    throw new DerError(`not an OBJECT IDENTIFIER: ${JSON.stringify(oid)}`);
  }
  const body: number[] = [];
  const push = (arc: number) => {
    const chunk = [arc % 128];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) {
      chunk.unshift((rest % 128) | 0x80);
    }
    body.push(...chunk);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const arc of arcs.slice(2)) push(arc);
  return encodeTlv(Tag.OID, Uint8Array.from(body));
}

/** INTEGER from unsigned big-endian magnitude bytes (adds the 0x00 sign byte when needed). */
export function encodeUnsignedInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  return trimmed[0]! & 0x80
    ? encodeTlv(Tag.INTEGER, ZERO, trimmed)
    : encodeTlv(Tag.INTEGER, trimmed);
}

const ZERO = Uint8Array.of(0);

/** BIT STRING of whole bytes (no unused bits). */
export function encodeBitString(bytes: Uint8Array): Uint8Array {
  return encodeTlv(Tag.BIT_STRING, ZERO, bytes);
}

/** UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5). Seconds precision. */
export function encodeTime(date: Date): Uint8Array {
  const out = new Uint8Array(encodedTimeLength(date));
  writeTime(out, 0, date);
  return out;
}

/** Bytes {@link encodeTime} produces for `date`. */
export function encodedTimeLength(date: Date): number {
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050 ? 15 : 17;
}

/** Writes {@link encodeTime}'s bytes at `offset` of `out`; returns the offset after them. */
export function writeTime(out: Uint8Array, offset: number, date: Date): number {
  const year = date.getUTCFullYear();
  const utc = year >= 1950 && year < 2050;
  out[offset] = utc ? Tag.UTC_TIME : Tag.GENERALIZED_TIME;
  out[offset + 1] = utc ? 13 : 15;
  let at = offset + 2;
  if (utc) at = writeDigits(out, at, year % 100, 2);
  else at = writeDigits(out, at, year, 4);
  at = writeDigits(out, at, date.getUTCMonth() + 1, 2);
  at = writeDigits(out, at, date.getUTCDate(), 2);
  at = writeDigits(out, at, date.getUTCHours(), 2);
  at = writeDigits(out, at, date.getUTCMinutes(), 2);
  at = writeDigits(out, at, date.getUTCSeconds(), 2);
  out[at] = 0x5a; // "Z"
  return at + 1;
}

function writeDigits(out: Uint8Array, offset: number, value: number, count: number): number {
  for (let i = count - 1; i >= 0; i--) {
    out[offset + i] = 0x30 + (value % 10);
    value = Math.floor(value / 10);
  }
  return offset + count;
}

/** Writes a tag and the length field for `length` at `offset`; returns the content offset. */
export function writeHeader(out: Uint8Array, offset: number, tag: number, length: number): number {
  const size = lengthFieldSize(length);
  out[offset] = tag;
  writeLength(out, offset + 1, length, size);
  return offset + 1 + size;
}

/** Bytes of a TLV whose content is `length` bytes. */
export function tlvLength(length: number): number {
  return 1 + lengthFieldSize(length) + length;
}
