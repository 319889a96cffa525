import { hash } from "node:crypto";
import {
  assertKeygenTrusted,
  type CertificationRequest,
  type KeygenOutput,
} from "../attest/index.js";
import { toPem } from "../der/index.js";
import type { CaInfo, CertificateAuthority } from "./authority.js";
import type { CertificateProfile } from "./certificate-template.js";
import {
  checkCsrAlgorithms,
  csrDigest,
  deviceIdOf,
  parseCertificationRequest,
  verifyCsr,
} from "./csr.js";
import { CaError } from "./errors.js";
import type { LedgerEntry } from "./ledger.js";
import { SerialNumbers } from "./serial.js";
import { BACKDATE_MS, caExpiredError, DAY_MS } from "./validity.js";

export interface IssuedCertificate {
  /** PEM, LF line ends, trailing LF. */
  pem: string;
  der: Uint8Array;
  /** Lowercase hex of the serial's magnitude, as `openssl x509 -serial` prints it. */
  serialNumber: string;
  sha256Fingerprint: string;
  deviceId: string;
  notBefore: Date;
  notAfter: Date;
}

export interface IssueOptions {
  /** Validity in days (default 3650, what nRF Cloud tooling uses); capped at the CA's expiry. */
  days?: number | undefined;
  /** When given, must equal the CSR's CN. */
  deviceId?: string | undefined;
  profile?: CertificateProfile | undefined;
  /** Recorded in the ledger; default: what the CSR came from and its SHA-256. */
  source?: string;
}

/** What building a certificate needs from a CA: no ledger, so batch workers can do it too. */
export type CertificateBuilder = Pick<
  CertificateAuthority,
  "info" | "template" | "signer" | "clock" | "serials"
>;

/** A signed certificate not yet in the ledger, with the ledger's `source` for it. */
export interface PreparedCertificate {
  certificate: IssuedCertificate;
  source: string;
}

const SERIAL_ATTEMPTS = 3;

/**
 * Issues an ES256 device certificate from a CSR (DER bytes or PEM text) or from parsed
 * AT%KEYGEN output (its COSE digest must match), after checking the CSR's signature, key
 * type and CN. The certificate is in the CA ledger before this returns.
 */
export async function issueDeviceCertificate(
  ca: CertificateAuthority,
  csr: Uint8Array | string | KeygenOutput,
  options: IssueOptions = {},
): Promise<IssuedCertificate> {
  for (let attempt = 1; ; attempt++) {
    const { certificate, source } = await prepareCertificate(ca, csr, options);
    try {
      await ca.ledger.append(ledgerEntry(certificate, ca.clock(), source, ca.info));
      return certificate;
    } catch (error) {
      // 126 random bits do not collide in practice; if they ever do, sign again with a new serial.
      const duplicate = error instanceof CaError && error.code === "ERR_LEDGER_DUPLICATE_SERIAL";
      if (!duplicate || attempt >= SERIAL_ATTEMPTS) throw error;
    }
  }
}

/** Validates the input and signs a certificate for it, without recording it. */
export async function prepareCertificate(
  ca: CertificateBuilder,
  input: Uint8Array | string | KeygenOutput,
  options: IssueOptions = {},
): Promise<PreparedCertificate> {
  const { csr, source, signatureVerified } = csrFromInput(input);
  const deviceId = deviceIdOf(csr, options.deviceId);
  const deviceLabel = `device ${JSON.stringify(deviceId)}`;
  // One signature verification per certificate: parseKeygenOutput already verified a KEYGEN
  // CSR's self-signature (and assertKeygenTrusted refused it if invalid).
  if (signatureVerified) checkCsrAlgorithms(csr, deviceLabel);
  else verifyCsr(csr, deviceLabel);
  const certificate = await signCertificate(ca, csr, {
    deviceId,
    ...validity(ca, options.days),
    profile: options.profile ?? "default",
  });
  return { certificate, source: options.source ?? source };
}

function csrFromInput(input: Uint8Array | string | KeygenOutput): {
  csr: CertificationRequest;
  source: string;
  signatureVerified: boolean;
} {
  if (typeof input === "string" || input instanceof Uint8Array) {
    const csr = parseCertificationRequest(input);
    return { csr, source: `csr-sha256:${csrDigest(csr)}`, signatureVerified: false };
  }
  assertKeygenTrusted(input);
  if (input.kind !== "csr") {
    throw new CaError(
      "ERR_CSR_MALFORMED",
      `The AT%KEYGEN output of device ${input.deviceUuid} (sec tag ${input.secTag}) is a public key, not a CSR; run AT%KEYGEN with response content 0 (CSR) to get a certificate.`,
    );
  }
  return {
    csr: parseCertificationRequest(input.der),
    source: `keygen:${input.deviceUuid}:sec-tag-${input.secTag}:sha256:${input.digest}`,
    signatureVerified: input.csr?.signatureValid === true,
  };
}

/** Builds and signs the certificate from a checked CSR: the fast path's core. */
export async function signCertificate(
  ca: CertificateBuilder,
  csr: CertificationRequest,
  fields: {
    deviceId: string;
    notBefore: Date;
    notAfter: Date;
    profile: CertificateProfile;
    serial?: Uint8Array;
  },
): Promise<IssuedCertificate> {
  const serial = fields.serial ?? ca.serials.next();
  const tbs = ca.template.buildTbs({
    serial,
    notBefore: fields.notBefore,
    notAfter: fields.notAfter,
    subjectDer: csr.subjectDer,
    spkiDer: csr.spkiDer,
    publicKeyBits: csr.publicKeyBits,
    profile: fields.profile,
  });
  const der = ca.template.assemble(tbs, await ca.signer.sign(tbs));
  return {
    pem: toPem("CERTIFICATE", der),
    der,
    serialNumber: Buffer.from(serial).toString("hex"),
    sha256Fingerprint: hash("sha256", der, "hex"),
    deviceId: fields.deviceId,
    notBefore: fields.notBefore,
    notAfter: fields.notAfter,
  };
}

/** notBefore backdated for clock skew; notAfter `days` later but never past the CA's expiry. */
export function validity(
  ca: Pick<CertificateBuilder, "info" | "clock">,
  days = 3650,
): { notBefore: Date; notAfter: Date } {
  if (!Number.isInteger(days) || days < 1) {
    throw new CaError(
      "ERR_CA_INVALID_VALIDITY",
      `Certificate validity must be a positive number of days, got ${days}.`,
    );
  }
  const now = ca.clock().getTime();
  if (now > ca.info.notAfter.getTime()) {
    throw caExpiredError(ca.info.dir, ca.info.notAfter);
  }
  // Whole seconds: X.509 times have no fractions, and the ledger should say exactly what was signed.
  const notBefore = new Date(Math.floor((now - BACKDATE_MS) / 1000) * 1000);
  const requested = Math.floor((now + days * DAY_MS) / 1000) * 1000;
  return { notBefore, notAfter: new Date(Math.min(requested, ca.info.notAfter.getTime())) };
}

/** One fresh serial (see SerialNumbers; issuing uses the CA's pooled generator). */
export function randomSerial(): Uint8Array {
  return new SerialNumbers().next();
}

export function ledgerEntry(
  certificate: IssuedCertificate,
  issuedAt: Date,
  source: string,
  issuer: Pick<CaInfo, "serialNumber" | "sha256Fingerprint">,
): LedgerEntry {
  return {
    serialNumber: certificate.serialNumber,
    deviceId: certificate.deviceId,
    sha256Fingerprint: certificate.sha256Fingerprint,
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
    issuedAt: issuedAt.toISOString(),
    source,
    pem: certificate.pem,
    issuerSerialNumber: issuer.serialNumber,
    issuerSha256Fingerprint: issuer.sha256Fingerprint,
  };
}
