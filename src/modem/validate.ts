import { ModemError, type ModemErrorCode } from "./errors.js";

/** Highest sec tag a host may use; the modem reserves everything above for itself. */
export const MAX_USER_SEC_TAG = 2147483647;

/** Refuses sec tags outside the user range 0…2147483647 before anything is sent. */
export function assertUserSecTag(secTag: number, port?: string): void {
  if (!Number.isSafeInteger(secTag) || secTag < 0 || secTag > MAX_USER_SEC_TAG) {
    throw new ModemError(
      "ERR_MODEM_SEC_TAG",
      `sec tag ${secTag} is not usable: the user range is 0…${MAX_USER_SEC_TAG} (higher values are reserved by the modem). Pick a sec tag in that range.`,
      { details: { secTag, port } },
    );
  }
}

/**
 * Refuses text that would break the quoted AT parameter it goes into: a `"` ends the string
 * early (the modem does not unescape), and control characters (CR/LF, backspace …) are
 * acted on by the modem's AT host instead of being stored.
 */
export function assertQuotableText(
  text: string,
  what: string,
  code: ModemErrorCode,
  details: Record<string, unknown> = {},
): void {
  const bad = /["\u0000-\u001f\u007f]/.exec(text);
  if (bad) {
    const shown = bad[0] === '"' ? '"' : `0x${bad[0].charCodeAt(0).toString(16).padStart(2, "0")}`;
    throw new ModemError(
      code,
      `${what} contains ${shown} at position ${bad.index}, which cannot be sent inside an AT string parameter. Remove it and try again.`,
      { details: { ...details, position: bad.index } },
    );
  }
}
