import { CaError } from "./errors.js";

export const DAY_MS = 86_400_000;
/** Devices with a slightly slow clock must not see a certificate from the future. */
export const BACKDATE_MS = 5 * 60_000;

/** ERR_CA_EXPIRED for the CA in `dir` whose certificate ended at `notAfter`. */
export function caExpiredError(dir: string, notAfter: Date): CaError {
  return new CaError(
    "ERR_CA_EXPIRED",
    `The CA in ${dir} expired on ${notAfter.toISOString()}; create a new CA (ca init) and re-issue device certificates.`,
    { details: { notAfter: notAfter.toISOString() } },
  );
}
