import { AttestError } from "./errors.js";

/** One DER TLV inside a buffer: offsets refer to the buffer it was read from. */
export interface DerNode {
  readonly tag: number;
  /** The whole TLV (header + content), as encoded. */
  readonly tlv: Uint8Array;
  readonly content: Uint8Array;
}

export const DerTag = {
  integer: 0x02,
  bitString: 0x03,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  teletexString: 0x14,
  ia5String: 0x16,
  bmpString: 0x1e,
  sequence: 0x30,
  set: 0x31,
  contextConstructed0: 0xa0,
} as const;

function malformed(what: string, problem: string): AttestError {
  return new AttestError("ERR_KEYGEN_MALFORMED", `${what}: ${problem}`);
}

/** Reads the TLV at `offset`. Only low tag numbers and definite lengths (all DER allows). */
export function readDer(buffer: Uint8Array, offset: number, what: string): DerNode {
  const tag = buffer[offset];
  if (tag === undefined) throw malformed(what, `truncated DER at byte ${offset}`);
  if ((tag & 0x1f) === 0x1f) throw malformed(what, `unsupported high tag number at byte ${offset}`);
  const first = buffer[offset + 1];
  if (first === undefined) throw malformed(what, `truncated DER length at byte ${offset + 1}`);
  let length = first;
  let headerLength = 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) {
      throw malformed(
        what,
        `unsupported DER length form 0x${first.toString(16)} at byte ${offset + 1}`,
      );
    }
    length = 0;
    for (let i = 0; i < count; i++) {
      const byte = buffer[offset + 2 + i];
      if (byte === undefined)
        throw malformed(what, `truncated DER length at byte ${offset + 2 + i}`);
      length = length * 256 + byte;
    }
    headerLength += count;
  }
  const end = offset + headerLength + length;
  if (end > buffer.length) {
    throw malformed(
      what,
      `DER element at byte ${offset} claims ${length} bytes but only ${buffer.length - offset - headerLength} remain`,
    );
  }
  return {
    tag,
    tlv: buffer.subarray(offset, end),
    content: buffer.subarray(offset + headerLength, end),
  };
}

/** Reads `buffer` as exactly one TLV with the expected tag (no trailing bytes). */
export function readSingle(buffer: Uint8Array, expectedTag: number, what: string): DerNode {
  const node = readDer(buffer, 0, what);
  if (node.tlv.length !== buffer.length) {
    throw malformed(
      what,
      `${buffer.length - node.tlv.length} unexpected byte(s) after the DER element`,
    );
  }
  return expectTag(node, expectedTag, what);
}

export function expectTag(node: DerNode, expectedTag: number, what: string): DerNode {
  if (node.tag !== expectedTag) {
    throw malformed(
      what,
      `expected DER tag 0x${expectedTag.toString(16)}, found 0x${node.tag.toString(16)}`,
    );
  }
  return node;
}

/** The TLVs inside a constructed node's content. */
export function childrenOf(node: DerNode, what: string): DerNode[] {
  const children: DerNode[] = [];
  let offset = 0;
  while (offset < node.content.length) {
    const child = readDer(node.content, offset, what);
    children.push(child);
    offset += child.tlv.length;
  }
  return children;
}

/** Decodes an OBJECT IDENTIFIER's content to dotted form. */
export function decodeOid(node: DerNode, what: string): string {
  expectTag(node, DerTag.oid, what);
  const bytes = node.content;
  if (bytes.length === 0) throw malformed(what, "empty OBJECT IDENTIFIER");
  const arcs: number[] = [];
  let value = 0;
  for (const [index, byte] of bytes.entries()) {
    value = value * 128 + (byte & 0x7f);
    if (byte & 0x80) {
      if (index === bytes.length - 1) throw malformed(what, "truncated OBJECT IDENTIFIER");
      continue;
    }
    if (arcs.length === 0) {
      const first = value < 80 ? Math.floor(value / 40) : 2;
      arcs.push(first, value - first * 40);
    } else {
      arcs.push(value);
    }
    value = 0;
  }
  return arcs.join(".");
}

/** Encodes a DER length field. */
export function encodeDerLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** Encodes one TLV from a tag and its content parts. */
export function encodeDer(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(content);
  return new Uint8Array(Buffer.concat([Uint8Array.of(tag), encodeDerLength(body.length), body]));
}
