import { NrfProvisionError } from "../errors/index.js";

/**
 * A modem-level failure: the modem answered, but not with what provisioning needs
 * (firmware too old, credential verification mismatch, bad input refused before sending …).
 * Codes start with `ERR_MODEM_` and map to exit code 3.
 */
export class ModemError extends NrfProvisionError {}

/** True when `error` is an AT-layer `+CME ERROR` with the given numeric code. */
export function isCmeError(error: unknown, cme: number): boolean {
  return (
    error instanceof NrfProvisionError && error.code === "ERR_AT_CME" && error.details.cme === cme
  );
}
