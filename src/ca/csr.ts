import { createHash, createPublicKey, type KeyObject, verify } from "node:crypto";
import {
  contentOf,
  DerError,
  decodeOid,
  expectElement,
  readChildren,
  readElement,
  Tag,
  wholeOf,
} from "./der.js";
import { CaError } from "./errors.js";
import { fromPemAll } from "./pem.js";

const OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1";
const OID_P256 = "1.2.840.10045.3.1.7";
const OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2";
const OID_COMMON_NAME = "2.5.4.3";

/** Human names for keys people actually try to use, for the ERR_CSR_KEY_TYPE message. */
const KNOWN_KEY_TYPES: Record<string, string> = {
  "1.2.840.113549.1.1.1": "RSA",
  "1.2.840.10040.4.1": "DSA",
  "1.3.101.112": "Ed25519",
  "1.3.101.113": "Ed448",
  "1.2.840.10045.3.1.1": "EC P-192",
  "1.3.132.0.33": "EC P-224",
  "1.3.132.0.34": "EC P-384",
  "1.3.132.0.35": "EC P-521",
  "1.3.132.0.10": "EC secp256k1",
};

const CSR_PEM_LABELS = ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"] as const;

/** A PKCS#10 request taken apart without re-encoding anything. */
export interface ParsedCsr {
  /** The request exactly as received (with or without the modem's NULL parameter). */
  der: Uint8Array;
  /** CertificationRequestInfo: what the self-signature covers. */
  infoDer: Uint8Array;
  /** Subject Name, byte for byte; copied into the certificate. */
  subjectDer: Uint8Array;
  /** SubjectPublicKeyInfo, byte for byte; copied into the certificate. */
  spkiDer: Uint8Array;
  /** The key's BIT STRING content (EC point); the subject key identifier hashes it. */
  publicKeyBits: Uint8Array;
  /** Key algorithm OID and, for EC keys, the curve OID. */
  keyAlgorithm: string;
  keyCurve: string | null;
  signatureAlgorithm: string;
  /** Whether signatureAlgorithm carries an explicit NULL (modem firmware quirk, nrf91-at §4.2). */
  signatureAlgorithmHasNull: boolean;
  signature: Uint8Array;
  /** Every CN in the subject, in order. */
  commonNames: string[];
}

/** Parses a CSR given as DER bytes or PEM text. Throws ERR_CSR_MALFORMED. */
export function parseCsr(input: Uint8Array | string): ParsedCsr {
  const der = typeof input === "string" ? singlePemCsr(input) : input;
  try {
    return parseCsrDer(der);
  } catch (error) {
    if (!(error instanceof DerError)) throw error;
    throw new CaError(
      "ERR_CSR_MALFORMED",
      `The CSR is not a valid PKCS#10 request: ${error.message}.`,
      {
        cause: error,
      },
    );
  }
}

function singlePemCsr(text: string): Uint8Array {
  const blocks = fromPemAll(text, CSR_PEM_LABELS);
  if (blocks.length !== 1) {
    throw new CaError(
      "ERR_CSR_MALFORMED",
      blocks.length === 0
        ? "No PEM certificate request found (expected -----BEGIN CERTIFICATE REQUEST-----)."
        : `Expected one PEM certificate request, found ${blocks.length}.`,
    );
  }
  return blocks[0]!;
}

function parseCsrDer(der: Uint8Array): ParsedCsr {
  const outer = expectElement(der, 0, Tag.SEQUENCE, "CertificationRequest");
  if (outer.end !== der.length) throw new DerError("trailing bytes after the request");
  const [info, algorithm, signature] = readChildren(der, outer);
  if (!info || !algorithm || !signature) throw new DerError("request has fewer than 3 fields");
  if (info.tag !== Tag.SEQUENCE || algorithm.tag !== Tag.SEQUENCE) {
    throw new DerError("request fields have the wrong types");
  }
  if (signature.tag !== Tag.BIT_STRING || der[signature.contentStart] !== 0) {
    throw new DerError("signature is not a whole-byte BIT STRING");
  }
  const [version, subject, spki] = readChildren(der, info);
  if (version?.tag !== Tag.INTEGER || subject?.tag !== Tag.SEQUENCE || spki?.tag !== Tag.SEQUENCE) {
    throw new DerError("CertificationRequestInfo has the wrong shape");
  }
  const [keyAlgorithmId, keyBits] = readChildren(der, spki);
  if (keyAlgorithmId?.tag !== Tag.SEQUENCE || keyBits?.tag !== Tag.BIT_STRING) {
    throw new DerError("SubjectPublicKeyInfo has the wrong shape");
  }
  const [keyOid, keyParameter] = readChildren(der, keyAlgorithmId);
  if (keyOid?.tag !== Tag.OID) throw new DerError("public key algorithm has no OID");
  const [signatureOid, signatureParameter] = readChildren(der, algorithm);
  if (signatureOid?.tag !== Tag.OID) throw new DerError("signature algorithm has no OID");
  return {
    der,
    infoDer: wholeOf(der, info),
    subjectDer: wholeOf(der, subject),
    spkiDer: wholeOf(der, spki),
    publicKeyBits: der.subarray(keyBits.contentStart + 1, keyBits.end),
    keyAlgorithm: decodeOid(contentOf(der, keyOid)),
    keyCurve: keyParameter?.tag === Tag.OID ? decodeOid(contentOf(der, keyParameter)) : null,
    signatureAlgorithm: decodeOid(contentOf(der, signatureOid)),
    signatureAlgorithmHasNull: signatureParameter?.tag === Tag.NULL,
    signature: der.subarray(signature.contentStart + 1, signature.end),
    commonNames: readCommonNames(der, subject.start),
  };
}

function readCommonNames(der: Uint8Array, subjectStart: number): string[] {
  const names: string[] = [];
  for (const rdn of readChildren(der, readElement(der, subjectStart))) {
    for (const attribute of readChildren(der, rdn)) {
      const [type, value] = readChildren(der, attribute);
      if (type?.tag === Tag.OID && value && decodeOid(contentOf(der, type)) === OID_COMMON_NAME) {
        names.push(decodeDirectoryString(value.tag, contentOf(der, value)));
      }
    }
  }
  return names;
}

function decodeDirectoryString(tag: number, content: Uint8Array): string {
  const bytes = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  if (tag === Tag.UTF8_STRING) return bytes.toString("utf8");
  if (tag === Tag.BMP_STRING) return Buffer.from(bytes).swap16().toString("utf16le");
  return bytes.toString("latin1");
}

/**
 * Checks that the key is EC P-256 and the self-signature verifies; returns the public key.
 * The signature covers only CertificationRequestInfo, so both encodings of
 * ecdsa-with-SHA256 (with and without the modem's NULL) verify the same way.
 */
export function verifyCsr(csr: ParsedCsr, deviceLabel = describeCsr(csr)): KeyObject {
  const publicKey = importP256Key(csr, deviceLabel);
  if (csr.signatureAlgorithm !== OID_ECDSA_SHA256) {
    throw new CaError(
      "ERR_CSR_SIGNATURE",
      `The CSR for ${deviceLabel} is signed with ${csr.signatureAlgorithm}, not ecdsa-with-SHA256; generate it again on the modem.`,
      { details: { signatureAlgorithm: csr.signatureAlgorithm } },
    );
  }
  let valid = false;
  try {
    valid = verify("sha256", csr.infoDer, publicKey, csr.signature);
  } catch {
    valid = false; // a malformed ECDSA-Sig-Value is just an invalid signature
  }
  if (!valid) {
    throw new CaError(
      "ERR_CSR_SIGNATURE",
      `The CSR for ${deviceLabel} has an invalid self-signature (corrupted or altered); generate a new CSR with AT%KEYGEN.`,
    );
  }
  return publicKey;
}

function importP256Key(csr: ParsedCsr, deviceLabel: string): KeyObject {
  const isP256 = csr.keyAlgorithm === OID_EC_PUBLIC_KEY && csr.keyCurve === OID_P256;
  if (!isP256) {
    const name =
      KNOWN_KEY_TYPES[csr.keyCurve ?? ""] ??
      KNOWN_KEY_TYPES[csr.keyAlgorithm] ??
      (csr.keyAlgorithm === OID_EC_PUBLIC_KEY
        ? `EC curve ${csr.keyCurve ?? "(explicit parameters)"}`
        : `algorithm ${csr.keyAlgorithm}`);
    throw new CaError(
      "ERR_CSR_KEY_TYPE",
      `The CSR for ${deviceLabel} has a ${name} key; nRF Cloud device certificates need an EC P-256 (ES256) key. Generate the key on the modem with AT%KEYGEN.`,
      { details: { keyAlgorithm: csr.keyAlgorithm, curve: csr.keyCurve } },
    );
  }
  try {
    const point = csr.publicKeyBits;
    // A JWK import is about 2.5× cheaper than OpenSSL's DER decoder and checks the point is on the curve.
    if (point.length === 65 && point[0] === 0x04) {
      const coordinates = Buffer.from(point.buffer, point.byteOffset, point.byteLength);
      return createPublicKey({
        key: {
          kty: "EC",
          crv: "P-256",
          x: coordinates.subarray(1, 33).toString("base64url"),
          y: coordinates.subarray(33, 65).toString("base64url"),
        },
        format: "jwk",
      });
    }
    return createPublicKey({ key: Buffer.from(csr.spkiDer), format: "der", type: "spki" });
  } catch (error) {
    throw new CaError(
      "ERR_CSR_KEY_TYPE",
      `The CSR for ${deviceLabel} has a P-256 public key that is not a valid curve point.`,
      { cause: error },
    );
  }
}

const DEVICE_ID_PATTERN = /^[a-z0-9:_-]{1,128}$/i;
/** Device firmware limit (NRF_CLOUD_CLIENT_ID_MAX_LEN); the API itself allows 128. */
export const DEVICE_ID_MAX_LENGTH = 64;

/** The reason `id` is not a usable nRF Cloud device ID, or null when it is. */
export function deviceIdProblem(id: string): string | null {
  if (!DEVICE_ID_PATTERN.test(id)) {
    return "nRF Cloud device IDs may contain only letters, digits, ':', '_' and '-' (1–128 characters)";
  }
  if (id.length > DEVICE_ID_MAX_LENGTH) {
    return `device firmware accepts at most ${DEVICE_ID_MAX_LENGTH} characters, this one has ${id.length}`;
  }
  return null;
}

/** The device ID the certificate is for: the CSR's single CN, checked against `expected`. */
export function deviceIdOf(csr: ParsedCsr, expected?: string): string {
  if (csr.commonNames.length !== 1) {
    throw new CaError(
      "ERR_CSR_DEVICE_ID",
      csr.commonNames.length === 0
        ? "The CSR subject has no CN; the CN must be the nRF Cloud device ID."
        : `The CSR subject has ${csr.commonNames.length} CNs; it must have exactly one, the device ID.`,
    );
  }
  const commonName = csr.commonNames[0]!;
  const problem = deviceIdProblem(commonName);
  if (problem) {
    throw new CaError(
      "ERR_CSR_DEVICE_ID",
      `The CSR's CN ${JSON.stringify(commonName)} is not a valid device ID: ${problem}. Generate the CSR again with a valid CN (AT%KEYGEN attributes "CN=…").`,
      { details: { commonName } },
    );
  }
  if (expected !== undefined && expected !== commonName) {
    throw new CaError(
      "ERR_CSR_DEVICE_ID_MISMATCH",
      `The CSR's CN is ${JSON.stringify(commonName)} but device ID ${JSON.stringify(expected)} was requested; the certificate CN must equal the nRF Cloud device ID.`,
      { details: { commonName, expected } },
    );
  }
  return commonName;
}

/** Lowercase hex SHA-256 of the CSR as received (the ledger's "source"). */
export function csrDigest(csr: ParsedCsr): string {
  return createHash("sha256").update(csr.der).digest("hex");
}

function describeCsr(csr: ParsedCsr): string {
  const cn = csr.commonNames[0];
  return cn === undefined ? "a device (no CN)" : `device ${JSON.stringify(cn)}`;
}
