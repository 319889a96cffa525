import { createHash } from "node:crypto";
import { encode } from "cborg";
import { toPem } from "../der/index.js";
import {
  decodeCbor,
  decodeSelfDescribedMessage,
  encodeSelfDescribedArray,
  expectBytes,
  expectInteger,
  parseCoseSign1,
} from "./cose.js";
import {
  type CertificationRequest,
  type KeygenCsr,
  parseKeygenCsr,
  parseSpki,
  reinsertNullParameter,
} from "./csr.js";
import { decodeBase64Url, extractBlob, formatUuid, splitTwoParts, toHex } from "./encoding.js";
import { AttestError } from "./errors.js";

/** COSE payload message types of `%KEYGEN`. */
export const KeygenMessageType = { publicKey: 8, csr: 9 } as const;

export type DigestStatus = "match" | "mismatch" | "match-after-null-reinsertion";

/** A parsed `%KEYGEN` response: the body (CSR or public key) and its COSE attestation. */
export interface KeygenOutput {
  kind: "csr" | "public-key";
  /** Exact bytes base64url-decoded from the first part: the canonical body (hash these). */
  der: Uint8Array;
  /** `der` as PEM (CERTIFICATE REQUEST or PUBLIC KEY), 64 columns, LF, trailing LF. */
  pem: string;
  /** 8-4-4-4-12 lowercase. */
  deviceUuid: string;
  secTag: number;
  /** 9 CSR, 8 public key. */
  messageType: number;
  /** Lowercase hex SHA-256 from the COSE payload. */
  digest: string;
  digestMatches: boolean;
  digestStatus: DigestStatus;
  /** Lowercase hex. */
  nonce: string;
  /** COSE unprotected kid decoded (-2 device identity key …), null if absent. */
  keyId: number | null;
  /** Raw COSE_Sign1 bytes. */
  cose: Uint8Array;
  csr?: {
    subject: string;
    commonName: string | null;
    publicKeyPem: string;
    signatureValid: boolean;
  };
  /** SubjectPublicKeyInfo PEM (from the CSR or the body itself). */
  publicKeyPem: string;
}

/**
 * A `%KEYGEN` body without its COSE attestation (older firmware paths, terminal output copied
 * without the part after the dot). Nothing vouches that the key was made in a modem: the only
 * check left is the CSR's own signature.
 */
export interface UnattestedKeygenOutput {
  kind: "csr" | "public-key";
  /** Exact bytes base64url-decoded from the blob. */
  der: Uint8Array;
  pem: string;
  publicKeyPem: string;
  csr?: {
    subject: string;
    commonName: string | null;
    publicKeyPem: string;
    signatureValid: boolean;
  };
  attestation: null;
}

/** The fields of a `%KEYGEN` COSE payload. */
export interface KeygenPayloadFields {
  messageType: number;
  deviceUuid: Uint8Array;
  secTag: number;
  digest: Uint8Array;
  nonce: Uint8Array;
}

const code = "ERR_KEYGEN_MALFORMED";
/** The items of a `%KEYGEN` COSE payload, as errors name them. */
const PAYLOAD_FIELDS = ["type", "uuid", "sec_tag", "digest", "nonce"];
const twoTo32 = 2 ** 32;

function sha256(bytes: Uint8Array): Buffer {
  return createHash("sha256").update(bytes).digest();
}

/** Encodes a `%KEYGEN` COSE payload: tag 55799 [type, uuid, bstr(cbor(secTag)), digest, nonce]. */
export function buildKeygenPayload(fields: KeygenPayloadFields): Uint8Array {
  return encodeSelfDescribedArray([
    fields.messageType,
    fields.deviceUuid,
    encode(fields.secTag),
    fields.digest,
    fields.nonce,
  ]);
}

function parseKeygenPayload(payload: Uint8Array): KeygenPayloadFields {
  const what = "COSE payload";
  const { type, items } = decodeSelfDescribedMessage(payload, PAYLOAD_FIELDS, what, code);
  const [uuid, secTag, digest, nonce] = items;
  if (type !== KeygenMessageType.csr && type !== KeygenMessageType.publicKey) {
    throw new AttestError(
      code,
      `${what} message type ${type} is neither 9 (CSR) nor 8 (public key)`,
    );
  }
  const secTagBytes = expectBytes(secTag, `${what} sec_tag`, code);
  // The sec tag is a byte string holding a CBOR integer; int32 wrap-around shows up negative.
  const tag = expectInteger(
    decodeCbor(secTagBytes, `${what} sec_tag`, code),
    `${what} sec_tag`,
    code,
  );
  if (tag < -(2 ** 31) || tag >= twoTo32)
    throw new AttestError(code, `${what} sec_tag ${tag} is out of range`);
  return {
    messageType: type,
    deviceUuid: expectBytes(uuid, `${what} device UUID`, code, 16),
    secTag: tag < 0 ? tag + twoTo32 : tag,
    digest: expectBytes(digest, `${what} digest`, code, 32),
    nonce: expectBytes(nonce, `${what} nonce`, code, 16),
  };
}

/** How the attested digest relates to the body; `request` is the parsed body when it is a CSR. */
function digestStatusOf(
  der: Uint8Array,
  digest: Uint8Array,
  request: CertificationRequest | null,
): DigestStatus {
  if (sha256(der).equals(digest)) return "match";
  const withNull = request ? reinsertNullParameter(request) : null;
  return withNull && sha256(withNull).equals(digest) ? "match-after-null-reinsertion" : "mismatch";
}

/** True when the pasted `%KEYGEN` output is a body alone, without `.<COSE_Sign1>`. */
export function isBareKeygenBody(text: string): boolean {
  return !extractBlob(text, "KEYGEN", code).includes(".");
}

/**
 * Parses `AT%KEYGEN` output: the bare `<base64url DER>.<base64url COSE_Sign1>` blob or the
 * `%KEYGEN: "…"` response line. Throws AttestError `ERR_KEYGEN_MALFORMED` naming the bad part,
 * or `ERR_KEYGEN_UNATTESTED` for a body without its COSE part (see {@link parseKeygenBody});
 * trust decisions (digest, sec tag, CSR signature) are left to {@link assertKeygenTrusted}.
 */
export function parseKeygenOutput(text: string): KeygenOutput {
  const blob = extractBlob(text, "KEYGEN", code);
  if (!blob.includes(".") && isParsableBody(blob)) {
    throw new AttestError(
      "ERR_KEYGEN_UNATTESTED",
      "this AT%KEYGEN output is a body without its COSE attestation (no second part after a dot): nothing shows the key was made in a modem. Use the modem's complete output; to issue from the CSR anyway, pass --allow-unattested",
    );
  }
  const [bodyPart, cosePart] = splitTwoParts(blob, ["base64url DER", "base64url COSE_Sign1"], code);
  const der = decodeBase64Url(bodyPart, "the keygen body (first part)", code);
  const cose = decodeBase64Url(cosePart, "the COSE_Sign1 (second part)", code);
  const sign1 = parseCoseSign1(cose, code);
  if (!sign1.payload) throw new AttestError(code, "the COSE_Sign1 payload is missing (nil)");
  const payload = parseKeygenPayload(sign1.payload);

  const kind = payload.messageType === KeygenMessageType.csr ? "csr" : "public-key";
  const csr = kind === "csr" ? parseKeygenCsr(der) : null;
  if (!csr) parseSpki(der);
  const digestStatus = digestStatusOf(der, payload.digest, csr?.request ?? null);
  const common = {
    der,
    deviceUuid: formatUuid(payload.deviceUuid),
    secTag: payload.secTag,
    messageType: payload.messageType,
    digest: toHex(payload.digest),
    digestMatches: digestStatus === "match",
    digestStatus,
    nonce: toHex(payload.nonce),
    keyId: sign1.keyId,
    cose,
  };
  return { ...describeBody(kind, der, csr), ...common };
}

/** A lone part that is a CSR or public key (a bare body), rather than garbage. */
function isParsableBody(blob: string): boolean {
  try {
    parseKeygenBody(blob);
    return true;
  } catch {
    return false;
  }
}

/** PEMs and CSR facts of a body whose kind is known. */
function describeBody(
  kind: "csr" | "public-key",
  der: Uint8Array,
  csr: KeygenCsr | null,
): Pick<KeygenOutput, "kind" | "pem" | "publicKeyPem" | "csr"> {
  if (!csr) {
    const pem = toPem("PUBLIC KEY", der);
    return { kind, pem, publicKeyPem: pem };
  }
  const publicKeyPem = toPem("PUBLIC KEY", csr.request.spkiDer);
  return {
    kind,
    pem: toPem("CERTIFICATE REQUEST", der),
    publicKeyPem,
    csr: {
      subject: csr.subject,
      commonName: csr.commonName,
      publicKeyPem,
      signatureValid: csr.signatureValid,
    },
  };
}

/**
 * Parses a `%KEYGEN` body without its COSE part, as Nordic's parser accepts: a CSR or, failing
 * that, a SubjectPublicKeyInfo (without the COSE message type, the DER itself decides).
 * The result says `attestation: null`: nothing was attested.
 */
export function parseKeygenBody(text: string): UnattestedKeygenOutput {
  const blob = extractBlob(text, "KEYGEN", code);
  if (blob.includes(".")) {
    throw new AttestError(
      code,
      "this AT%KEYGEN output has a COSE part: parse it as attested output",
    );
  }
  const der = decodeBase64Url(blob, "the keygen body", code);
  let csr: KeygenCsr | null = null;
  try {
    csr = parseKeygenCsr(der);
  } catch (csrError) {
    try {
      parseSpki(der);
    } catch {
      throw csrError;
    }
  }
  return { ...describeBody(csr ? "csr" : "public-key", der, csr), der, attestation: null };
}

/**
 * Refuses keygen output that must not be turned into a certificate: digest mismatch (body altered
 * or corrupted), a body re-encoded without the NULL parameter, a sec tag other than the one asked
 * for, or a CSR whose self-signature does not verify.
 */
export function assertKeygenTrusted(out: KeygenOutput, expected: { secTag?: number } = {}): void {
  const details = { deviceUuid: out.deviceUuid, secTag: out.secTag, digest: out.digest };
  if (out.digestStatus === "match-after-null-reinsertion") {
    throw new AttestError(
      "ERR_KEYGEN_DIGEST_NORMALIZED",
      `keygen output of device ${out.deviceUuid}: the CSR body was re-encoded without the NULL parameter after it left the modem; use the modem's original output`,
      { details },
    );
  }
  if (out.digestStatus === "mismatch") {
    throw new AttestError(
      "ERR_KEYGEN_DIGEST",
      `keygen output of device ${out.deviceUuid}: SHA-256 of the body does not match the attested digest ${out.digest}; the body was altered or corrupted on the way, run AT%KEYGEN again`,
      { details },
    );
  }
  if (expected.secTag !== undefined && expected.secTag !== out.secTag) {
    throw new AttestError(
      "ERR_KEYGEN_SECTAG",
      `keygen output of device ${out.deviceUuid} is attested for sec tag ${out.secTag}, but sec tag ${expected.secTag} was requested; this is output of another AT%KEYGEN, run it again`,
      { details: { ...details, expectedSecTag: expected.secTag } },
    );
  }
  if (out.csr && !out.csr.signatureValid) {
    throw new AttestError(
      "ERR_CSR_SIGNATURE",
      `the CSR of device ${out.deviceUuid} has an invalid self-signature; do not issue a certificate for it, run AT%KEYGEN again`,
      { details },
    );
  }
}
