import { NrfProvisionError } from "../errors/index.js";

/**
 * Stable codes for device-JWT failures. The CLI exits 1 for them, and 2 (usage) for
 * `ERR_JWT_KEY_FILE`: a key file that cannot be read or would be overwritten.
 */
export type JwtErrorCode =
  | "ERR_JWT_MALFORMED"
  | "ERR_JWT_ALG"
  | "ERR_JWT_SIGNATURE"
  | "ERR_JWT_EXPIRED"
  | "ERR_JWT_SUBJECT"
  | "ERR_JWT_CLAIMS"
  | "ERR_JWT_LIFETIME"
  | "ERR_JWT_DEVICE_ID"
  | "ERR_JWT_KEY"
  | "ERR_JWT_KEY_FILE"
  | "ERR_JWT_BATCH"
  | "ERR_JWT_OPTIONS";

/** A device JWT could not be minted, verified, or its key material could not be used. */
export class JwtError extends NrfProvisionError<JwtErrorCode> {}
