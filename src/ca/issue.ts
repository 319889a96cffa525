import { createHash, randomBytes } from "node:crypto";
import { assertKeygenTrusted, type KeygenOutput } from "../attest/index.js";
import type { CertificateAuthority } from "./authority.js";
import type { CertificateProfile } from "./certificate-template.js";
import { csrDigest, deviceIdOf, type ParsedCsr, parseCsr, verifyCsr } from "./csr.js";
import { CaError } from "./errors.js";
import type { LedgerEntry } from "./ledger.js";
import { toPem } from "./pem.js";

export interface IssuedCertificate {
  /** PEM, LF line ends, trailing LF. */
  pem: string;
  der: Uint8Array;
  /** Lowercase hex, as `openssl x509 -serial` prints it (without leading zero bytes). */
  serialNumber: string;
  sha256Fingerprint: string;
  deviceId: string;
  notBefore: Date;
  notAfter: Date;
}

export interface IssueOptions {
  /** Validity in days (default 3650, what nRF Cloud tooling uses); capped at the CA's expiry. */
  days?: number;
  /** When given, must equal the CSR's CN. */
  deviceId?: string;
  profile?: CertificateProfile;
  /** Recorded in the ledger; default `csr-sha256:<digest of the CSR as received>`. */
  source?: string;
}

const DAY_MS = 86_400_000;
/** Devices with a slightly slow clock must not see a certificate from the future. */
const BACKDATE_MS = 5 * 60_000;
const SERIAL_BYTES = 16;
const SERIAL_ATTEMPTS = 3;

/**
 * Issues an ES256 device certificate from a CSR (DER bytes or PEM text) or from parsed
 * AT%KEYGEN output (whose COSE digest must match: attest's assertKeygenTrusted). The entry is
 * in the CA ledger before the certificate is returned.
 */
export async function issueDeviceCertificate(
  ca: CertificateAuthority,
  csr: Uint8Array | string | KeygenOutput,
  options: IssueOptions = {},
): Promise<IssuedCertificate> {
  if (typeof csr === "string" || csr instanceof Uint8Array) return issueFromCsr(ca, csr, options);
  assertKeygenTrusted(csr);
  if (csr.kind !== "csr") {
    throw new CaError(
      "ERR_CSR_MALFORMED",
      `The AT%KEYGEN output of device ${csr.deviceUuid} (sec tag ${csr.secTag}) is a public key, not a CSR; run AT%KEYGEN with response content 0 (CSR) to get a certificate.`,
    );
  }
  return issueFromCsr(ca, csr.der, {
    ...options,
    source: options.source ?? `keygen:${csr.deviceUuid}:sec-tag-${csr.secTag}:sha256:${csr.digest}`,
  });
}

/**
 * Validates `csr` and issues an ES256 device certificate for its CN, recording it in the
 * ledger before returning. The CSR is already parsed when called with a ParsedCsr (KEYGEN
 * input and batch workers pass one).
 */
export async function issueFromCsr(
  ca: CertificateAuthority,
  input: Uint8Array | string | ParsedCsr,
  options: IssueOptions = {},
): Promise<IssuedCertificate> {
  const csr = typeof input === "string" || input instanceof Uint8Array ? parseCsr(input) : input;
  const deviceId = deviceIdOf(csr, options.deviceId);
  verifyCsr(csr, `device ${JSON.stringify(deviceId)}`);
  const { notBefore, notAfter } = validity(ca, options.days);
  const source = options.source ?? `csr-sha256:${csrDigest(csr)}`;
  for (let attempt = 1; ; attempt++) {
    const certificate = await signCertificate(ca, csr, {
      deviceId,
      notBefore,
      notAfter,
      profile: options.profile ?? "default",
    });
    try {
      await ca.ledger.append(ledgerEntry(certificate, ca.clock(), source));
      return certificate;
    } catch (error) {
      // 128-bit random serials do not collide in practice; if one ever does, pick another.
      const duplicate = error instanceof CaError && error.code === "ERR_LEDGER_DUPLICATE_SERIAL";
      if (!duplicate || attempt >= SERIAL_ATTEMPTS) throw error;
    }
  }
}

/** Builds and signs the certificate (no validation, no ledger): the fast path's core. */
export async function signCertificate(
  ca: CertificateAuthority,
  csr: ParsedCsr,
  fields: {
    deviceId: string;
    notBefore: Date;
    notAfter: Date;
    profile: CertificateProfile;
    serial?: Uint8Array;
  },
): Promise<IssuedCertificate> {
  const serial = fields.serial ?? randomSerial();
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
    sha256Fingerprint: createHash("sha256").update(der).digest("hex"),
    deviceId: fields.deviceId,
    notBefore: fields.notBefore,
    notAfter: fields.notAfter,
  };
}

/** notBefore backdated for clock skew; notAfter `days` later but never past the CA's expiry. */
export function validity(
  ca: CertificateAuthority,
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
    throw new CaError(
      "ERR_CA_EXPIRED",
      `The CA in ${ca.info.dir} expired on ${ca.info.notAfter.toISOString()}; create a new CA and re-issue.`,
    );
  }
  // Whole seconds: X.509 times have no fractions, and the ledger should say exactly what was signed.
  const notBefore = new Date(Math.floor((now - BACKDATE_MS) / 1000) * 1000);
  const requested = Math.floor((now + days * DAY_MS) / 1000) * 1000;
  return { notBefore, notAfter: new Date(Math.min(requested, ca.info.notAfter.getTime())) };
}

/** 16 random bytes, top bit clear (positive) and second-highest set (no leading zero byte). */
function randomSerial(): Uint8Array {
  const serial = randomBytes(SERIAL_BYTES);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  return serial;
}

function ledgerEntry(certificate: IssuedCertificate, issuedAt: Date, source: string): LedgerEntry {
  return {
    serialNumber: certificate.serialNumber,
    deviceId: certificate.deviceId,
    sha256Fingerprint: certificate.sha256Fingerprint,
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
    issuedAt: issuedAt.toISOString(),
    source,
    pem: certificate.pem,
  };
}
