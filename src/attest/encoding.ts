import { AttestError, type AttestErrorCode } from "./errors.js";

const base64UrlPattern = /^[A-Za-z0-9_-]*={0,2}$/;

/** Decodes strict base64url (padding tolerated); anything else is a malformed `what`. */
export function decodeBase64Url(text: string, what: string, code: AttestErrorCode): Uint8Array {
  if (!base64UrlPattern.test(text)) {
    throw new AttestError(
      code,
      `${what} is not base64url: it contains characters outside A-Z a-z 0-9 - _`,
    );
  }
  const unpadded = text.replace(/=+$/, "");
  if (unpadded.length === 0) throw new AttestError(code, `${what} is empty`);
  if (unpadded.length % 4 === 1) {
    throw new AttestError(
      code,
      `${what} is not base64url: ${unpadded.length} characters is not a valid length`,
    );
  }
  return new Uint8Array(Buffer.from(unpadded, "base64url"));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** Renders 16 bytes as an 8-4-4-4-12 lowercase UUID. */
export function formatUuid(bytes: Uint8Array): string {
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Extracts the `<part>.<part>` blob from what a user pastes: the bare blob, a quoted blob, or the
 * modem's response line (`%KEYGEN: "…"`), optionally followed by the final `OK` line.
 */
export function extractBlob(text: string, prefix: string, code: AttestErrorCode): string {
  const lines = text
    .split(/\r\n|\r|\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (lines.length > 1 && lines[lines.length - 1] === "OK") lines.pop();
  if (lines.length === 0) throw new AttestError(code, `the ${prefix} output is empty`);
  if (lines.length > 1) {
    throw new AttestError(
      code,
      `expected one ${prefix} line or blob, got ${lines.length} lines; pass only the modem's ${prefix} response`,
    );
  }
  let blob = lines[0] ?? "";
  const responsePrefix = /^%([A-Z]+):\s*/.exec(blob);
  if (responsePrefix) {
    if (responsePrefix[1] !== prefix) {
      throw new AttestError(code, `expected a %${prefix} response, got %${responsePrefix[1]}`);
    }
    blob = blob.slice(responsePrefix[0].length);
  }
  if (blob.startsWith('"') || blob.endsWith('"')) {
    if (blob.length < 2 || !blob.startsWith('"') || !blob.endsWith('"')) {
      throw new AttestError(code, `the %${prefix} value has unbalanced quotes`);
    }
    blob = blob.slice(1, -1);
  }
  return blob;
}

/** Splits `<a>.<b>` into its two base64url parts. */
export function splitTwoParts(
  blob: string,
  names: [string, string],
  code: AttestErrorCode,
): [string, string] {
  const parts = blob.split(".");
  if (parts.length !== 2) {
    throw new AttestError(
      code,
      `expected "<${names[0]}>.<${names[1]}>" (two base64url parts separated by one "."), got ${parts.length} part(s)`,
    );
  }
  return [parts[0] ?? "", parts[1] ?? ""];
}
