import { isNrfProvisionError, NrfProvisionError } from "../errors/index.js";

/** Stable codes of the modem layer (exit code 3). */
export type ModemErrorCode =
  | "ERR_MODEM_ATTESTTOKEN"
  | "ERR_MODEM_ATTRIBUTES"
  | "ERR_MODEM_CFUN_MODE"
  | "ERR_MODEM_CFUN_RESTORE"
  | "ERR_MODEM_CREDENTIAL_CONTENT"
  | "ERR_MODEM_CREDENTIAL_TOO_LONG"
  | "ERR_MODEM_CREDENTIAL_TYPE"
  | "ERR_MODEM_CREDENTIAL_VERIFY"
  | "ERR_MODEM_FIRMWARE_TOO_OLD"
  | "ERR_MODEM_FIRMWARE_UNKNOWN"
  | "ERR_MODEM_IMEI"
  | "ERR_MODEM_JWT_OPTIONS"
  | "ERR_MODEM_MODEL"
  | "ERR_MODEM_SEC_TAG"
  | "ERR_MODEM_SHELL_LF_UNESCAPE"
  | "ERR_MODEM_TIME_UNKNOWN"
  | "ERR_MODEM_UNEXPECTED_RESPONSE";

/**
 * A modem-level failure: the modem answered, but not with what provisioning needs
 * (firmware too old, credential verification mismatch, bad input refused before sending …).
 * Codes start with `ERR_MODEM_` and map to exit code 3.
 */
export class ModemError extends NrfProvisionError<ModemErrorCode> {}

/** True when `error` is an AT-layer `+CME ERROR` with the given numeric code. */
export function isCmeError(error: unknown, cme: number): boolean {
  return isNrfProvisionError(error, "ERR_AT_CME") && error.details.cme === cme;
}
