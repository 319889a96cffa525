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

/** Unwraps `tag(value)` or fails naming what was expected. */
export function expectTagged(
  value: unknown,
  tag: number,
  what: string,
  code: AttestErrorCode,
): unknown {
  if (!(value instanceof Tagged) || value.tag !== tag) {
    throw new AttestError(code, `${what} is not wrapped in CBOR tag ${tag}`);
  }
  return value.value;
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
  const message = expectTagged(decodeCbor(bytes, what, code), CborTag.coseSign1, what, code);
  if (!Array.isArray(message) || message.length !== 4) {
    throw new AttestError(
      code,
      `${what} is not a 4-element array [protected, unprotected, payload, signature]`,
    );
  }
  const [protectedBytes, unprotected, payload, signature] = message as unknown[];
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
