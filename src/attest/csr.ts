import { createPublicKey, type KeyObject, verify } from "node:crypto";
import {
  bitStringBytes,
  type DerElement,
  DerError,
  encodeSequence,
  expectTag,
  OID_COMMON_NAME,
  OID_EC_PUBLIC_KEY,
  OID_ECDSA_SHA256,
  OID_ECDSA_SHA384,
  OID_ECDSA_SHA512,
  OID_P256,
  readChildren,
  readOid,
  readSingle,
  Tag,
  wholeOf,
} from "../der/index.js";
import { type P256Verdict, p256PublicKey, verifyP256Sha256 } from "../p256/index.js";
import { AttestError } from "./errors.js";

/**
 * A PKCS#10 CertificationRequest (RFC 2986) taken apart without re-encoding anything: every
 * `…Der` field is a view of the exact bytes received, so the CA copies subject and key into
 * certificates byte for byte and signatures are checked over the bytes that were signed.
 */
export interface CertificationRequest {
  /** The request exactly as received (with or without the modem's NULL parameter). */
  der: Uint8Array;
  /** CertificationRequestInfo: what the self-signature covers. */
  infoDer: Uint8Array;
  /** Subject Name. */
  subjectDer: Uint8Array;
  /** Subject attributes in order, values decoded from their directory string type. */
  subject: Array<{ type: string; value: string }>;
  /** Every CN in the subject, in order. */
  commonNames: string[];
  /** SubjectPublicKeyInfo. */
  spkiDer: Uint8Array;
  /** The key's BIT STRING bytes (for EC keys the point; the subject key identifier hashes it). */
  publicKeyBits: Uint8Array;
  /** Key algorithm OID and, when its parameter is an OID (EC keys), the curve. */
  keyAlgorithm: string;
  keyCurve: string | null;
  /** The outer signatureAlgorithm AlgorithmIdentifier, its OID, and its parameters. */
  signatureAlgorithmDer: Uint8Array;
  signatureAlgorithm: string;
  /** The parameters' DER, null when absent (RFC 5758); `05 00` in the modem's form. */
  signatureParametersDer: Uint8Array | null;
  /** Whether signatureAlgorithm carries an explicit NULL (modem firmware quirk, nrf91-at §4.2). */
  signatureAlgorithmHasNull: boolean;
  /** The signature BIT STRING element and its bytes (for ECDSA, a DER ECDSA-Sig-Value). */
  signatureValueDer: Uint8Array;
  signature: Uint8Array;
}

const attributeNameByOid: Record<string, string> = {
  [OID_COMMON_NAME]: "CN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "1.2.840.113549.1.9.1": "E",
};

/**
 * Reads a DER PKCS#10 request. Throws DerError (naming the bad field) for anything that is not
 * one; callers map it to their own code. Checks structure only: key type policy and the
 * signature are left to the caller ({@link verifyRequestSignature}).
 */
export function readCertificationRequest(der: Uint8Array): CertificationRequest {
  const request = readSingle(der, Tag.SEQUENCE, "CertificationRequest");
  const [info, algorithm, signature, ...rest] = readChildren(der, request);
  if (!info || !algorithm || !signature || rest.length > 0) {
    throw new DerError(
      "CertificationRequest is not {certificationRequestInfo, signatureAlgorithm, signature}",
    );
  }
  expectTag(info, Tag.SEQUENCE, "certificationRequestInfo");
  expectTag(algorithm, Tag.SEQUENCE, "signatureAlgorithm");
  const signatureBytes = bitStringBytes(der, signature, "signature");

  const [version, subject, spki, attributes, ...extra] = readChildren(der, info);
  if (!version || !subject || !spki || extra.length > 0) {
    throw new DerError(
      "certificationRequestInfo is not {version, subject, subjectPKInfo, attributes}",
    );
  }
  expectTag(version, Tag.INTEGER, "certificationRequestInfo version");
  expectTag(subject, Tag.SEQUENCE, "subject");
  expectTag(spki, Tag.SEQUENCE, "subjectPKInfo");
  if (attributes) expectTag(attributes, Tag.CONTEXT_0, "attributes");

  const [keyAlgorithmId, keyBits, ...keyRest] = readChildren(der, spki);
  if (!keyAlgorithmId || !keyBits || keyRest.length > 0) {
    throw new DerError("subjectPKInfo is not {algorithm, subjectPublicKey}");
  }
  expectTag(keyAlgorithmId, Tag.SEQUENCE, "subjectPKInfo algorithm");
  const [keyOid, keyParameter, ...keyExtra] = readChildren(der, keyAlgorithmId);
  if (!keyOid || keyExtra.length > 0) {
    throw new DerError("subjectPKInfo algorithm is not {algorithm, parameters}");
  }

  const [signatureOid, parameters, ...more] = readChildren(der, algorithm);
  if (!signatureOid || more.length > 0) {
    throw new DerError("signatureAlgorithm is not {algorithm, parameters}");
  }
  const { attributes: subjectAttributes, commonNames } = readSubject(der, subject);
  return {
    der,
    infoDer: wholeOf(der, info),
    subjectDer: wholeOf(der, subject),
    subject: subjectAttributes,
    commonNames,
    spkiDer: wholeOf(der, spki),
    publicKeyBits: bitStringBytes(der, keyBits, "subjectPublicKey"),
    keyAlgorithm: readOid(der, keyOid, "subjectPKInfo algorithm"),
    keyCurve: keyParameter?.tag === Tag.OID ? readOid(der, keyParameter, "EC curve") : null,
    signatureAlgorithmDer: wholeOf(der, algorithm),
    signatureAlgorithm: readOid(der, signatureOid, "signatureAlgorithm"),
    signatureParametersDer: parameters ? wholeOf(der, parameters) : null,
    signatureAlgorithmHasNull:
      parameters?.tag === Tag.NULL && parameters.end === parameters.contentStart,
    signatureValueDer: wholeOf(der, signature),
    signature: signatureBytes,
  };
}

function readSubject(
  der: Uint8Array,
  subject: DerElement,
): { attributes: Array<{ type: string; value: string }>; commonNames: string[] } {
  const attributes: Array<{ type: string; value: string }> = [];
  const commonNames: string[] = [];
  for (const rdn of readChildren(der, subject)) {
    expectTag(rdn, Tag.SET, "subject RDN");
    for (const attribute of readChildren(der, rdn)) {
      expectTag(attribute, Tag.SEQUENCE, "subject attribute");
      const [type, value, ...rest] = readChildren(der, attribute);
      if (!type || !value || rest.length > 0) {
        throw new DerError("a subject attribute is not {type, value}");
      }
      const oid = readOid(der, type, "subject attribute type");
      const text = decodeDirectoryString(der, value);
      if (oid === OID_COMMON_NAME) commonNames.push(text);
      attributes.push({ type: oid, value: text });
    }
  }
  return { attributes, commonNames };
}

/** The text of a DirectoryString-like attribute value. */
function decodeDirectoryString(der: Uint8Array, element: DerElement): string {
  const content = Buffer.from(
    der.buffer,
    der.byteOffset + element.contentStart,
    element.end - element.contentStart,
  );
  switch (element.tag) {
    case Tag.UTF8_STRING:
    case Tag.PRINTABLE_STRING:
    case Tag.IA5_STRING:
      return content.toString("utf8");
    case Tag.T61_STRING:
      return content.toString("latin1");
    case Tag.BMP_STRING:
      if (content.length % 2 !== 0) throw new DerError("odd-length BMPString in the subject");
      return Buffer.from(content).swap16().toString("utf16le");
    default:
      throw new DerError(`unsupported string type 0x${element.tag.toString(16)} in the subject`);
  }
}

/** `A=v, B=w` in the order of the request, RFC 4514 escaping the separators. */
export function formatSubject(request: Pick<CertificationRequest, "subject">): string {
  return request.subject
    .map(
      ({ type, value }) =>
        `${attributeNameByOid[type] ?? type}=${value.replace(/[,+"\\<>;]/g, (c) => `\\${c}`)}`,
    )
    .join(", ");
}

const ecdsaHashByOid: Record<string, string> = {
  [OID_ECDSA_SHA256]: "sha256",
  [OID_ECDSA_SHA384]: "sha384",
  [OID_ECDSA_SHA512]: "sha512",
};

/** "invalid-key": the request's public key is not a usable key of the type it declares. */
export type RequestSignatureVerdict = P256Verdict;

/**
 * Checks the request's self-signature (ECDSA with SHA-2) over the CertificationRequestInfo
 * bytes exactly as encoded, so both the modem's NULL-parameter form and the re-encoded form
 * verify. Other signature algorithms are "invalid-signature". P-256 with SHA-256, what every
 * modem sends, takes the fast verifier (src/p256); anything else goes through node:crypto.
 */
export function checkRequestSignature(request: CertificationRequest): RequestSignatureVerdict {
  if (isUncompressedP256(request) && request.signatureAlgorithm === OID_ECDSA_SHA256) {
    return verifyP256Sha256(request.publicKeyBits, request.infoDer, request.signature);
  }
  let publicKey: KeyObject;
  try {
    publicKey = importRequestKey(request);
  } catch {
    return "invalid-key";
  }
  const hash = ecdsaHashByOid[request.signatureAlgorithm];
  if (hash === undefined) return "invalid-signature";
  try {
    return verify(hash, request.infoDer, publicKey, request.signature)
      ? "valid"
      : "invalid-signature";
  } catch {
    return "invalid-signature"; // an undecodable ECDSA-Sig-Value is simply not a valid signature
  }
}

function isUncompressedP256(
  request: Pick<CertificationRequest, "keyAlgorithm" | "keyCurve" | "publicKeyBits">,
): boolean {
  const point = request.publicKeyBits;
  return (
    request.keyAlgorithm === OID_EC_PUBLIC_KEY &&
    request.keyCurve === OID_P256 &&
    point.length === 65 &&
    point[0] === 0x04
  );
}

/** The request's public key as a KeyObject; throws whatever node:crypto throws for a bad key. */
function importRequestKey(
  request: Pick<CertificationRequest, "keyAlgorithm" | "keyCurve" | "publicKeyBits" | "spkiDer">,
): KeyObject {
  if (isUncompressedP256(request)) return p256PublicKey(request.publicKeyBits);
  const spki = request.spkiDer;
  return createPublicKey({
    key: Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength),
    format: "der",
    type: "spki",
  });
}

// --- the %KEYGEN body -----------------------------------------------------------------------

/** What the attestation layer reads out of a %KEYGEN CSR body. */
export interface KeygenCsr {
  request: CertificationRequest;
  subject: string;
  commonName: string | null;
  signatureValid: boolean;
}

const what = "keygen body (PKCS#10 CSR)";

function malformed(label: string, error: unknown): AttestError {
  if (!(error instanceof DerError)) throw error;
  return new AttestError("ERR_KEYGEN_MALFORMED", `${label}: ${error.message}`, { cause: error });
}

/** A key from `load`; a key node:crypto rejects makes the keygen body malformed. */
function keygenKey(label: string, load: () => KeyObject): KeyObject {
  try {
    return load();
  } catch (error) {
    throw new AttestError(
      "ERR_KEYGEN_MALFORMED",
      `${label}: the public key is not a valid SubjectPublicKeyInfo`,
      { cause: error },
    );
  }
}

/** Checks that `der` is exactly one SubjectPublicKeyInfo (the `%KEYGEN=…,1` body). */
export function parseSpki(der: Uint8Array): KeyObject {
  const label = "keygen body (SubjectPublicKeyInfo)";
  try {
    const node = readSingle(der, Tag.SEQUENCE, "SubjectPublicKeyInfo");
    const [algorithm, key, ...rest] = readChildren(der, node);
    if (!algorithm || !key || rest.length > 0) {
      throw new DerError("expected {algorithm, subjectPublicKey}");
    }
    expectTag(algorithm, Tag.SEQUENCE, "algorithm");
    expectTag(key, Tag.BIT_STRING, "subjectPublicKey");
  } catch (error) {
    throw malformed(label, error);
  }
  return keygenKey(label, () =>
    createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" }),
  );
}

/**
 * Parses a %KEYGEN CSR body and verifies its self-signature. Throws AttestError
 * ERR_KEYGEN_MALFORMED; an invalid signature is reported in `signatureValid`.
 */
export function parseKeygenCsr(der: Uint8Array): KeygenCsr {
  let request: CertificationRequest;
  try {
    request = readCertificationRequest(der);
    // The modem adds an explicit NULL parameter (RFC 5758 says absent); both are accepted.
    if (request.signatureParametersDer !== null && !request.signatureAlgorithmHasNull) {
      throw new DerError(
        "unexpected signatureAlgorithm parameters (only absent or NULL are valid)",
      );
    }
  } catch (error) {
    throw malformed(what, error);
  }
  const verdict = checkRequestSignature(request);
  if (verdict === "invalid-key") {
    throw new AttestError(
      "ERR_KEYGEN_MALFORMED",
      `${what}: the public key is not a valid SubjectPublicKeyInfo (not a point on its curve)`,
    );
  }
  return {
    request,
    subject: formatSubject(request),
    commonName: request.commonNames[0] ?? null,
    signatureValid: verdict === "valid",
  };
}

/** ecdsa-with-SHA256 as RFC 5758 wants it (no parameters) and as the modem sends it (NULL). */
const ecdsaSha256WithoutNull = Buffer.from("300a06082a8648ce3d040302", "hex");
const ecdsaSha256WithNull = Buffer.from("300c06082a8648ce3d0403020500", "hex");

/**
 * If the request's outer signatureAlgorithm is the RFC 5758 form (no parameters), the request
 * with the modem's NULL parameter put back; otherwise null. Used to recognise a body that was
 * re-encoded after leaving the modem.
 */
export function reinsertNullParameter(request: CertificationRequest): Uint8Array | null {
  if (!ecdsaSha256WithoutNull.equals(request.signatureAlgorithmDer)) return null;
  return encodeSequence(request.infoDer, ecdsaSha256WithNull, request.signatureValueDer);
}
