import { hash } from "node:crypto";
import {
  type CertificationRequest,
  checkRequestSignature,
  readCertificationRequest,
} from "../attest/index.js";
import {
  DerError,
  fromPemAll,
  OID_EC_PUBLIC_KEY,
  OID_ECDSA_SHA256,
  OID_P256,
} from "../der/index.js";
import { deviceIdProblem } from "../device-id/index.js";
import { CaError } from "./errors.js";

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

/**
 * The PKCS#10 request in a CSR given as DER bytes or PEM text, as attest's parser reads it
 * (nothing re-encoded). Throws ERR_CSR_MALFORMED.
 */
export function parseCertificationRequest(input: Uint8Array | string): CertificationRequest {
  const der = typeof input === "string" ? singlePemCsr(input) : input;
  try {
    return readCertificationRequest(der);
  } catch (error) {
    if (!(error instanceof DerError)) throw error;
    throw new CaError(
      "ERR_CSR_MALFORMED",
      `The CSR is not a valid PKCS#10 request: ${error.message}.`,
      { cause: error },
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

/**
 * The CA's algorithm policy: an EC P-256 key (what nRF Cloud takes) and an ecdsa-with-SHA256
 * self-signature (with or without the modem's NULL parameter).
 */
export function checkCsrAlgorithms(
  csr: CertificationRequest,
  deviceLabel = describeCsr(csr),
): void {
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
  // Decided: compressed points are refused. Modems write uncompressed keys (0x04 ‖ X ‖ Y);
  // RFC 5480 makes only the uncompressed form mandatory to support, so a certificate carrying
  // a compressed key could fail in a TLS stack or at nRF Cloud after the device shipped.
  if (csr.publicKeyBits.length !== 65 || csr.publicKeyBits[0] !== 0x04) {
    throw new CaError(
      "ERR_CSR_KEY_TYPE",
      `The CSR for ${deviceLabel} has a ${csr.publicKeyBits[0] === 0x02 || csr.publicKeyBits[0] === 0x03 ? "compressed" : "malformed"} P-256 public key; device certificates carry the uncompressed form (65 bytes, 0x04 ‖ X ‖ Y) that AT%KEYGEN produces. Generate the key on the modem.`,
      { details: { keyAlgorithm: csr.keyAlgorithm, curve: csr.keyCurve } },
    );
  }
  if (csr.signatureAlgorithm !== OID_ECDSA_SHA256) {
    throw new CaError(
      "ERR_CSR_SIGNATURE",
      `The CSR for ${deviceLabel} is signed with ${csr.signatureAlgorithm}, not ecdsa-with-SHA256; generate it again on the modem.`,
      { details: { signatureAlgorithm: csr.signatureAlgorithm } },
    );
  }
}

/**
 * Checks the algorithm policy and that the self-signature verifies. The signature covers only
 * CertificationRequestInfo, so both encodings of ecdsa-with-SHA256 (with and without the
 * modem's NULL) verify the same way.
 */
export function verifyCsr(csr: CertificationRequest, deviceLabel = describeCsr(csr)): void {
  checkCsrAlgorithms(csr, deviceLabel);
  const verdict = checkRequestSignature(csr);
  if (verdict === "invalid-key") {
    throw new CaError(
      "ERR_CSR_KEY_TYPE",
      `The CSR for ${deviceLabel} has a P-256 public key that is not a valid curve point.`,
    );
  }
  if (verdict === "invalid-signature") {
    throw new CaError(
      "ERR_CSR_SIGNATURE",
      `The CSR for ${deviceLabel} has an invalid self-signature (corrupted or altered); generate a new CSR with AT%KEYGEN.`,
    );
  }
}

/** The device ID the certificate is for: the CSR's single CN, checked against `expected`. */
export function deviceIdOf(csr: CertificationRequest, expected?: string): string {
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
export function csrDigest(csr: CertificationRequest): string {
  return hash("sha256", csr.der, "hex");
}

function describeCsr(csr: CertificationRequest): string {
  const cn = csr.commonNames[0];
  return cn === undefined ? "a device (no CN)" : `device ${JSON.stringify(cn)}`;
}
