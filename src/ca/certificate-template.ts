import { hash } from "node:crypto";
import {
  encodeBitString,
  encodeOid,
  encodeSequence,
  encodeTime,
  encodeTlv,
  encodeUnsignedInteger,
  Tag,
} from "../der/index.js";

/** "default": v3 with the extensions nRF Cloud clients expect; "minimal": v1, no extensions. */
export type CertificateProfile = "default" | "minimal";

/** The per-certificate inputs; everything else comes from the CA. */
export interface DeviceCertificateFields {
  /** Serial magnitude (big-endian, positive). */
  serial: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** Subject Name DER, copied from the CSR. */
  subjectDer: Uint8Array;
  /** SubjectPublicKeyInfo DER, copied from the CSR. */
  spkiDer: Uint8Array;
  /** The SPKI's BIT STRING content; the subject key identifier is its SHA-1 (RFC 5280 §4.2.1.2). */
  publicKeyBits: Uint8Array;
  profile: CertificateProfile;
}

const ECDSA_WITH_SHA256 = encodeSequence(encodeOid("1.2.840.10045.4.3.2"));
const VERSION_3 = encodeTlv(Tag.CONTEXT_0, encodeTlv(Tag.INTEGER, Uint8Array.of(2)));
const SHA1_LENGTH = 20;
const CRITICAL = encodeTlv(Tag.BOOLEAN, Uint8Array.of(0xff));

function encodeExtension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical
    ? encodeSequence(encodeOid(oid), CRITICAL, encodeTlv(Tag.OCTET_STRING, value))
    : encodeSequence(encodeOid(oid), encodeTlv(Tag.OCTET_STRING, value));
}

/**
 * Builds device certificates from pre-encoded pieces. Issuer, algorithm identifiers and all
 * extensions but the subject key identifier are the same for every certificate a CA issues,
 * so they are encoded once here; per certificate only serial, validity, subject, key and key
 * identifier are spliced in. The test suite checks the result field by field against
 * @peculiar/x509's generator.
 */
export class DeviceCertificateTemplate {
  /** The CA facts the template was built from (batch workers rebuild it from these). */
  readonly ca: Readonly<{ subjectDer: Uint8Array; subjectKeyIdentifier: Uint8Array }>;
  /** signature AlgorithmIdentifier + issuer Name: one constant run after the serial. */
  readonly #algorithmAndIssuer: Uint8Array;
  /**
   * The [3] extensions block is constant except the 20-byte SHA-1 subject key identifier, so
   * it is kept as the bytes before those 20 and the bytes after them.
   */
  readonly #extensionsBeforeKeyId: Uint8Array;
  readonly #extensionsAfterKeyId: Uint8Array;

  constructor(ca: { subjectDer: Uint8Array; subjectKeyIdentifier: Uint8Array }) {
    this.ca = ca;
    this.#algorithmAndIssuer = new Uint8Array(Buffer.concat([ECDSA_WITH_SHA256, ca.subjectDer]));
    const basicConstraints = encodeExtension("2.5.29.19", true, encodeSequence()); // CA:FALSE
    // keyUsage digitalSignature: BIT STRING, 7 unused bits, 0x80.
    const keyUsage = encodeExtension(
      "2.5.29.15",
      true,
      encodeTlv(Tag.BIT_STRING, Uint8Array.of(7, 0x80)),
    );
    const clientAuth = encodeExtension(
      "2.5.29.37",
      false,
      encodeSequence(encodeOid("1.3.6.1.5.5.7.3.2")),
    );
    const placeholderKeyId = new Uint8Array(SHA1_LENGTH);
    const subjectKeyId = encodeExtension(
      "2.5.29.14",
      false,
      encodeTlv(Tag.OCTET_STRING, placeholderKeyId),
    );
    const authorityKeyId = encodeExtension(
      "2.5.29.35",
      false,
      encodeSequence(encodeTlv(0x80, ca.subjectKeyIdentifier)),
    );
    const extensions = encodeTlv(
      Tag.CONTEXT_3,
      encodeSequence(basicConstraints, keyUsage, clientAuth, subjectKeyId, authorityKeyId),
    );
    const keyIdEnd = extensions.length - authorityKeyId.length;
    this.#extensionsBeforeKeyId = extensions.subarray(0, keyIdEnd - SHA1_LENGTH);
    this.#extensionsAfterKeyId = extensions.subarray(keyIdEnd);
  }

  /** The DER TBSCertificate to sign. */
  buildTbs(fields: DeviceCertificateFields): Uint8Array {
    const serial = encodeUnsignedInteger(fields.serial);
    const validity = encodeSequence(encodeTime(fields.notBefore), encodeTime(fields.notAfter));
    // Minimal = X.509 v1 like Nordic's Python tool: a v3 certificate without extensions lacks
    // the authority key identifier that `openssl verify -x509_strict` demands.
    if (fields.profile === "minimal") {
      return encodeSequence(
        serial,
        this.#algorithmAndIssuer,
        validity,
        fields.subjectDer,
        fields.spkiDer,
      );
    }
    return encodeSequence(
      VERSION_3,
      serial,
      this.#algorithmAndIssuer,
      validity,
      fields.subjectDer,
      fields.spkiDer,
      this.#extensionsBeforeKeyId,
      hash("sha1", fields.publicKeyBits, "buffer"),
      this.#extensionsAfterKeyId,
    );
  }

  /** The final Certificate from a TBSCertificate and a DER ECDSA-Sig-Value. */
  assemble(tbs: Uint8Array, signatureDer: Uint8Array): Uint8Array {
    return encodeSequence(tbs, ECDSA_WITH_SHA256, encodeBitString(signatureDer));
  }
}
