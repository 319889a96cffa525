import { NrfProvisionError } from "../errors/index.js";

/** Stable codes of the attestation layer. */
export type AttestErrorCode =
  | "ERR_KEYGEN_MALFORMED"
  | "ERR_KEYGEN_UNATTESTED"
  | "ERR_KEYGEN_DIGEST"
  | "ERR_KEYGEN_DIGEST_NORMALIZED"
  | "ERR_KEYGEN_SECTAG"
  | "ERR_CSR_SIGNATURE"
  | "ERR_ATTEST_MALFORMED"
  | "ERR_ATTEST_KEY_INVALID";

/** A `%KEYGEN` / `%ATTESTTOKEN` output that is malformed or cannot be trusted. */
export class AttestError extends NrfProvisionError<AttestErrorCode> {}
