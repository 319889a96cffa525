import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { decode, encode, Tagged } from "cborg";
import { AttestError, type AttestErrorCode } from "./errors.js";

/** CBOR tags in nRF91 attestation output. */
export const CborTag = { coseSign1: 18, selfDescribed: 55799 } as const;

/** COSE algorithm ES256 (ECDSA P-256 with SHA-256), the only one the modem uses. */
const es256 = -7;
/** `{1: -7}`, the protected header the modem sends. */
const protectedHeaderEs256 = Uint8Array.of(0xa1, 0x01, 0x26);

/** COSE key ids the modem uses in the unprotected header (nrfcloud-utils tables). */
export const CoseKeyId = {
  identityKey: -2,
  nordicBaseProductionKey: -4,
  nordicBaseRdKey: -5,
} as const;

export interface CoseSign1 {
  protectedHeader: Uint8Array;
  keyId: number | null;
  /** Null when the payload is detached (`%ATTESTTOKEN`). */
  payload: Uint8Array | null;
  signature: Uint8Array;
}

/** Decodes CBOR with the two tags the modem uses; any decoder failure becomes `code`. */
export function decodeCbor(bytes: Uint8Array, what: string, code: AttestErrorCode): unknown {
  try {
    return decode(bytes, {
      tags: Tagged.preserve(CborTag.coseSign1, CborTag.selfDescribed),
      useMaps: true,
    });
  } catch (error) {
    throw new AttestError(code, `${what} is not valid CBOR (${(error as Error).message})`, {
      cause: error,
    });
  }
}

/**
 * Decodes `tag([...])` holding exactly one item per name in `fields`, or fails naming the layout
 * expected (`… is not a 5-element array [type, uuid, …]`).
 */
function decodeTaggedArray(
  bytes: Uint8Array,
  tag: number,
  fields: readonly string[],
  what: string,
  code: AttestErrorCode,
): unknown[] {
  const value = decodeCbor(bytes, what, code);
  if (!(value instanceof Tagged) || value.tag !== tag) {
    throw new AttestError(code, `${what} is not wrapped in CBOR tag ${tag}`);
  }
  const items: unknown = value.value;
  if (!Array.isArray(items) || items.length !== fields.length) {
    throw new AttestError(
      code,
      `${what} is not a ${fields.length}-element array [${fields.join(", ")}]`,
    );
  }
  return items;
}

/**
 * Decodes a modem message, `tag 55799 [type, …]` with one item per name in `fields` (the first
 * the integer message type): its type and the items after it.
 */
export function decodeSelfDescribedMessage(
  bytes: Uint8Array,
  fields: readonly string[],
  what: string,
  code: AttestErrorCode,
): { type: number; items: unknown[] } {
  const [type, ...items] = decodeTaggedArray(bytes, CborTag.selfDescribed, fields, what, code);
  return { type: expectInteger(type, `${what} message type`, code), items };
}

/** Encodes `tag 55799 [items…]`, the layout of the modem's keygen and attestation messages. */
export function encodeSelfDescribedArray(items: readonly unknown[]): Uint8Array {
  return encode(new Tagged(CborTag.selfDescribed, items));
}

export function expectBytes(
  value: unknown,
  what: string,
  code: AttestErrorCode,
  length?: number,
): Uint8Array {
  if (!(value instanceof Uint8Array))
    throw new AttestError(code, `${what} is not a CBOR byte string`);
  if (length !== undefined && value.length !== length) {
    throw new AttestError(code, `${what} has ${value.length} bytes, expected ${length}`);
  }
  return value;
}

export function expectInteger(value: unknown, what: string, code: AttestErrorCode): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new AttestError(code, `${what} is not a CBOR integer`);
  }
  return value;
}

/** Decodes a COSE_Sign1 (tag 18, ES256) as the modem emits it. */
export function parseCoseSign1(bytes: Uint8Array, code: AttestErrorCode): CoseSign1 {
  const what = "COSE_Sign1";
  const [protectedBytes, unprotected, payload, signature] = decodeTaggedArray(
    bytes,
    CborTag.coseSign1,
    ["protected", "unprotected", "payload", "signature"],
    what,
    code,
  );
  const protectedHeader = expectBytes(protectedBytes, `${what} protected header`, code);
  const header = decodeCbor(protectedHeader, `${what} protected header`, code);
  if (!(header instanceof Map) || header.get(1) !== es256) {
    throw new AttestError(code, `${what} protected header does not declare ES256 ({1: -7})`);
  }
  if (!(unprotected instanceof Map))
    throw new AttestError(code, `${what} unprotected header is not a map`);
  if (payload !== null) expectBytes(payload, `${what} payload`, code);
  return {
    protectedHeader,
    keyId: decodeKeyId(unprotected.get(4)),
    payload: payload as Uint8Array | null,
    signature: expectBytes(signature, `${what} signature`, code, 64),
  };
}

/** The kid is a byte string holding a CBOR integer (h'21' = -2, the identity key). */
function decodeKeyId(kid: unknown): number | null {
  if (!(kid instanceof Uint8Array)) return null;
  try {
    const value = decode(kid);
    return typeof value === "number" && Number.isInteger(value) ? value : null;
  } catch {
    return null;
  }
}

/** RFC 9052 `Sig_structure` for COSE_Sign1 with empty external AAD. */
function sigStructure(protectedHeader: Uint8Array, payload: Uint8Array): Uint8Array {
  return encode(["Signature1", protectedHeader, new Uint8Array(0), payload]);
}

/**
 * Signs `payload` as an ES256 COSE_Sign1 the way the modem lays it out
 * (`d2 84 43 a1 01 26 a1 04 41 <kid> …`). `detached` leaves nil in the payload slot.
 */
export function encodeCoseSign1(options: {
  payload: Uint8Array;
  privateKey: KeyObject | string;
  keyId?: number;
  detached?: boolean;
}): Uint8Array {
  const key =
    typeof options.privateKey === "string"
      ? createPrivateKey(options.privateKey)
      : options.privateKey;
  const signature = sign("sha256", sigStructure(protectedHeaderEs256, options.payload), {
    key,
    dsaEncoding: "ieee-p1363",
  });
  const kid = encode(options.keyId ?? CoseKeyId.identityKey);
  return encode(
    new Tagged(CborTag.coseSign1, [
      protectedHeaderEs256,
      new Map([[4, kid]]),
      options.detached ? null : options.payload,
      new Uint8Array(signature),
    ]),
  );
}

/** Verifies a COSE_Sign1's ES256 signature; `detachedPayload` is used when the payload is nil. */
export function verifyCoseSign1(
  cose: CoseSign1,
  publicKey: KeyObject | string,
  detachedPayload?: Uint8Array,
): boolean {
  const payload = cose.payload ?? detachedPayload;
  if (!payload) return false;
  let key: KeyObject;
  try {
    key = typeof publicKey === "string" ? createPublicKey(publicKey) : publicKey;
  } catch (error) {
    throw new AttestError(
      "ERR_ATTEST_KEY_INVALID",
      "the identity public key is not a valid PEM public key",
      {
        cause: error,
      },
    );
  }
  return verify(
    "sha256",
    sigStructure(cose.protectedHeader, payload),
    { key, dsaEncoding: "ieee-p1363" },
    cose.signature,
  );
}
