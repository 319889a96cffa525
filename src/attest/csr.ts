import { createPublicKey, type KeyObject, verify } from "node:crypto";
import {
  childrenOf,
  type DerNode,
  DerTag,
  decodeOid,
  encodeDer,
  expectTag,
  readSingle,
} from "./der.js";
import { AttestError } from "./errors.js";

/** What the attestation layer reads out of a PKCS#10 CSR. */
export interface ParsedCsr {
  subject: string;
  commonName: string | null;
  /** The SubjectPublicKeyInfo TLV exactly as encoded in the CSR. */
  spki: Uint8Array;
  signatureValid: boolean;
}

const ecdsaHashByOid: Record<string, string> = {
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
};

const attributeNameByOid: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "1.2.840.113549.1.9.1": "E",
};

/** The outer signatureAlgorithm RFC 5758 wants (no parameters) and the modem's form (NULL). */
const ecdsaSha256WithoutNull = Uint8Array.of(
  0x30,
  0x0a,
  0x06,
  0x08,
  0x2a,
  0x86,
  0x48,
  0xce,
  0x3d,
  0x04,
  0x03,
  0x02,
);
const ecdsaSha256WithNull = Uint8Array.of(
  0x30,
  0x0c,
  0x06,
  0x08,
  0x2a,
  0x86,
  0x48,
  0xce,
  0x3d,
  0x04,
  0x03,
  0x02,
  0x05,
  0x00,
);

const what = "keygen body (PKCS#10 CSR)";

function malformed(problem: string, cause?: unknown): AttestError {
  return new AttestError("ERR_KEYGEN_MALFORMED", `${what}: ${problem}`, { cause });
}

function decodeString(node: DerNode): string {
  switch (node.tag) {
    case DerTag.utf8String:
    case DerTag.printableString:
    case DerTag.ia5String:
      return Buffer.from(node.content).toString("utf8");
    case DerTag.teletexString:
      return Buffer.from(node.content).toString("latin1");
    case DerTag.bmpString:
      if (node.content.length % 2 !== 0) throw malformed("odd-length BMPString in the subject");
      return Buffer.from(node.content).swap16().toString("utf16le");
    default:
      throw malformed(`unsupported string type 0x${node.tag.toString(16)} in the subject`);
  }
}

/** RFC 4514 escaping of the characters that would break `A=v, B=w` apart. */
function escapeAttributeValue(value: string): string {
  return value.replace(/[,+"\\<>;]/g, (c) => `\\${c}`);
}

function parseSubject(node: DerNode): { subject: string; commonName: string | null } {
  expectTag(node, DerTag.sequence, `${what} subject`);
  const parts: string[] = [];
  let commonName: string | null = null;
  for (const rdn of childrenOf(node, `${what} subject`)) {
    expectTag(rdn, DerTag.set, `${what} subject RDN`);
    for (const attribute of childrenOf(rdn, `${what} subject attribute`)) {
      expectTag(attribute, DerTag.sequence, `${what} subject attribute`);
      const [type, value, ...rest] = childrenOf(attribute, `${what} subject attribute`);
      if (!type || !value || rest.length > 0)
        throw malformed("a subject attribute is not {type, value}");
      const oid = decodeOid(type, `${what} subject attribute type`);
      const text = decodeString(value);
      if (oid === "2.5.4.3" && commonName === null) commonName = text;
      parts.push(`${attributeNameByOid[oid] ?? oid}=${escapeAttributeValue(text)}`);
    }
  }
  return { subject: parts.join(", "), commonName };
}

/** Imports a SubjectPublicKeyInfo; a key node:crypto rejects makes the body malformed. */
export function importSpki(spki: Uint8Array, label: string): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
  } catch (error) {
    throw new AttestError(
      "ERR_KEYGEN_MALFORMED",
      `${label}: the public key is not a valid SubjectPublicKeyInfo`,
      {
        cause: error,
      },
    );
  }
}

/** Checks that `der` is exactly one SubjectPublicKeyInfo (the `%KEYGEN=…,1` body). */
export function parseSpki(der: Uint8Array): KeyObject {
  const label = "keygen body (SubjectPublicKeyInfo)";
  const node = readSingle(der, DerTag.sequence, label);
  const [algorithm, key, ...rest] = childrenOf(node, label);
  if (!algorithm || !key || rest.length > 0) {
    throw new AttestError(
      "ERR_KEYGEN_MALFORMED",
      `${label}: expected {algorithm, subjectPublicKey}`,
    );
  }
  expectTag(algorithm, DerTag.sequence, label);
  expectTag(key, DerTag.bitString, label);
  return importSpki(der, label);
}

/**
 * Parses a PKCS#10 CSR and verifies its self-signature over the CertificationRequestInfo bytes
 * exactly as encoded, so both the modem's NULL-parameter form and the re-encoded form verify.
 */
export function parseCsr(der: Uint8Array): ParsedCsr {
  const request = readSingle(der, DerTag.sequence, what);
  const [info, algorithm, signature, ...rest] = childrenOf(request, what);
  if (!info || !algorithm || !signature || rest.length > 0) {
    throw malformed("expected {certificationRequestInfo, signatureAlgorithm, signature}");
  }
  expectTag(info, DerTag.sequence, `${what} certificationRequestInfo`);
  expectTag(algorithm, DerTag.sequence, `${what} signatureAlgorithm`);
  expectTag(signature, DerTag.bitString, `${what} signature`);

  const [version, subject, spki, attributes, ...extra] = childrenOf(
    info,
    `${what} certificationRequestInfo`,
  );
  if (!version || !subject || !spki || extra.length > 0) {
    throw malformed(
      "certificationRequestInfo is not {version, subject, subjectPKInfo, attributes}",
    );
  }
  expectTag(version, DerTag.integer, `${what} version`);
  expectTag(spki, DerTag.sequence, `${what} subjectPKInfo`);
  if (attributes) expectTag(attributes, DerTag.contextConstructed0, `${what} attributes`);
  const { subject: subjectText, commonName } = parseSubject(subject);
  const publicKey = importSpki(spki.tlv, what);

  const [algorithmOid, parameters, ...more] = childrenOf(algorithm, `${what} signatureAlgorithm`);
  if (!algorithmOid || more.length > 0)
    throw malformed("signatureAlgorithm is not {algorithm, parameters}");
  // The modem adds an explicit NULL parameter (RFC 5758 says absent); both are accepted.
  if (parameters && (parameters.tag !== DerTag.null || parameters.content.length !== 0)) {
    throw malformed("unexpected signatureAlgorithm parameters (only absent or NULL are valid)");
  }
  const hash = ecdsaHashByOid[decodeOid(algorithmOid, `${what} signatureAlgorithm`)];
  if (signature.content.length < 1 || signature.content[0] !== 0) {
    throw malformed("the signature BIT STRING has unused bits");
  }
  const signatureValid =
    hash !== undefined && verifySignature(hash, info.tlv, publicKey, signature.content.subarray(1));
  return { subject: subjectText, commonName, spki: spki.tlv, signatureValid };
}

function verifySignature(
  hash: string,
  data: Uint8Array,
  key: KeyObject,
  signature: Uint8Array,
): boolean {
  try {
    return verify(hash, data, key, signature);
  } catch {
    return false; // An undecodable ECDSA signature is simply not a valid one.
  }
}

/**
 * If the CSR's outer signatureAlgorithm is the RFC 5758 form (no parameters), returns the CSR
 * with the modem's NULL parameter put back (outer SEQUENCE and AlgorithmIdentifier lengths
 * fixed); otherwise null. Used to recognise a body that was re-encoded after leaving the modem.
 */
export function reinsertNullParameter(der: Uint8Array): Uint8Array | null {
  const request = readSingle(der, DerTag.sequence, what);
  const [info, algorithm, signature] = childrenOf(request, what);
  if (!info || !algorithm || !signature) return null;
  if (!Buffer.from(algorithm.tlv).equals(ecdsaSha256WithoutNull)) return null;
  return encodeDer(DerTag.sequence, info.tlv, ecdsaSha256WithNull, signature.tlv);
}
