import { NrfProvisionError } from "../errors/index.js";

/** Stable codes of the certificate authority (exit code 4). */
export type CaErrorCode =
  | "ERR_CA_EXISTS"
  | "ERR_CA_EXPIRED"
  | "ERR_CA_INVALID"
  | "ERR_CA_INVALID_SUBJECT"
  | "ERR_CA_INVALID_VALIDITY"
  | "ERR_CA_KEY_CORRUPT"
  | "ERR_CA_KEY_MISMATCH"
  | "ERR_CA_NOT_A_ROOT"
  | "ERR_CA_NOT_FOUND"
  | "ERR_CA_PASSPHRASE"
  | "ERR_CA_PASSPHRASE_MISMATCH"
  | "ERR_CA_PASSPHRASE_REQUIRED"
  | "ERR_CA_UNREADABLE"
  | "ERR_CSR_DEVICE_ID"
  | "ERR_CSR_DEVICE_ID_MISMATCH"
  | "ERR_CSR_KEY_TYPE"
  | "ERR_CSR_MALFORMED"
  | "ERR_CSR_SIGNATURE"
  | "ERR_LEDGER_CORRUPT"
  | "ERR_LEDGER_DUPLICATE_SERIAL"
  | "ERR_LEDGER_LOCKED"
  | "ERR_LEDGER_MISSING"
  | "ERR_LEDGER_NOT_A_FILE"
  | "ERR_LEDGER_UNWRITABLE"
  | "ERR_LEDGER_WRITE";

/**
 * Failures of the local certificate authority. Codes: `ERR_CA_*` (CA files, passphrase,
 * validity), `ERR_CSR_*` (a CSR refused before signing), `ERR_LEDGER_*` (issuance record).
 * All map to exit code 4.
 */
export class CaError extends NrfProvisionError<CaErrorCode> {}
