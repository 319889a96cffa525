import { createHash } from "node:crypto";
import { type AtClient, MAX_COMMAND_BYTES, SHELL_LF_ADVICE, shellStoredText } from "../at/index.js";
import { isNrfProvisionError } from "../errors/index.js";
import { isCmeError, ModemError } from "./errors.js";
import { firmwareListsCredentialHashes } from "./identity.js";
import { assertUserSecTag, MAX_USER_SEC_TAG } from "./validate.js";

/** `%CMNG` credential types (nrf91-at.md §5; 9–11 from nrfcredstore and SLM). */
export const CREDENTIAL_TYPES = {
  "root-ca": 0,
  "client-cert": 1,
  "client-key": 2,
  psk: 3,
  "psk-identity": 4,
  "public-key": 5,
  "device-identity-public-key": 6,
  "endorsement-key": 8,
  "ownership-key": 9,
  "nordic-identity-root-ca": 10,
  "nordic-base-public-key": 11,
} as const;
export type CredentialTypeName = keyof typeof CREDENTIAL_TYPES;

/** Types whose content is secret: private key, PSK, PSK identity. Never logged. */
const SECRET_CREDENTIAL_TYPES: ReadonlySet<number> = new Set([2, 3, 4]);
// AT%CMNG=0,<sec tag>,<type>,"<content>"…: the content holds no quote (AT string rules). In
// the shell mode the command is `at 'AT%CMNG=…'` (see at/shell.ts).
const CMNG_WRITE = /^((?:at\s+'?)?AT%CMNG=0,\s*\d+\s*,\s*(\d+)\s*,\s*\\?")([^"]*?)(\\?")/i;

/**
 * An AT line as it may appear in a log (`--verbose`, sent or echoed): the content of a %CMNG
 * write of a private key, PSK or PSK identity is replaced by its length. Others are unchanged.
 */
export function redactAtCommandForLog(command: string): string {
  const match = CMNG_WRITE.exec(command);
  if (!match || !SECRET_CREDENTIAL_TYPES.has(Number(match[2]))) return command;
  return `${match[1]}[${match[3]!.length} characters redacted]${match[4]}${command.slice(match[0].length)}`;
}

/** `root-ca` for 0 …; `type-<n>` for numbers without a name. */
export function credentialTypeName(type: number): string {
  for (const [name, value] of Object.entries(CREDENTIAL_TYPES)) {
    if (value === type) return name;
  }
  return `type-${type}`;
}

/** Accepts a type name (`root-ca`) or its number (`0`). */
export function parseCredentialType(value: string): number {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed) && Number(trimmed) <= 255) return Number(trimmed);
  const named = (CREDENTIAL_TYPES as Record<string, number>)[trimmed.toLowerCase()];
  if (named !== undefined) return named;
  throw new ModemError(
    "ERR_MODEM_CREDENTIAL_TYPE",
    `unknown credential type "${value}": use a number or one of ${Object.keys(CREDENTIAL_TYPES).join(", ")}.`,
    { details: { type: value } },
  );
}

export interface CredentialEntry {
  secTag: number;
  type: number;
  typeName: string;
  /** Lowercase hex SHA-256 as listed by the modem; null on firmware < 1.3.2. */
  sha256: string | null;
}

const LIST_LINE = /^%CMNG:\s*(\d+)\s*,\s*(\d+)\s*(?:,\s*"([0-9A-Fa-f]{64})")?\s*$/;

/**
 * Lists stored credentials (`AT%CMNG=1[,<tag>[,<type>]]`). Tags above 2147483647 belong to the
 * modem (its own keys in 4294967292–4294967294 on every board, TLS sessions) and are left out
 * unless `includeReserved` is set.
 */
export async function listCredentials(
  at: AtClient,
  options: { secTag?: number | undefined; type?: number; includeReserved?: boolean } = {},
): Promise<CredentialEntry[]> {
  if (options.secTag !== undefined) assertUserSecTag(options.secTag, at.portName);
  let command = "AT%CMNG=1";
  if (options.secTag !== undefined) {
    command += `,${options.secTag}`;
    if (options.type !== undefined) command += `,${options.type}`;
  }
  const response = await at.send(command, { responsePrefix: "%CMNG:" });
  const entries: CredentialEntry[] = [];
  for (const line of response.lines) {
    const match = LIST_LINE.exec(line);
    if (!match) {
      throw new ModemError(
        "ERR_MODEM_UNEXPECTED_RESPONSE",
        `cannot read the credential list line "${line}" from the modem on ${at.portName}.`,
        { details: { port: at.portName, command, line } },
      );
    }
    const secTag = Number(match[1]);
    const type = Number(match[2]);
    if (secTag > MAX_USER_SEC_TAG && !options.includeReserved) continue;
    // A line for another tag or type is no evidence about the one asked for.
    if (options.secTag !== undefined && secTag !== options.secTag) continue;
    if (options.type !== undefined && type !== options.type) continue;
    entries.push({
      secTag,
      type,
      typeName: credentialTypeName(type),
      sha256: match[3]?.toLowerCase() ?? null,
    });
  }
  return entries;
}

export type LineEndings = "lf" | "crlf" | "keep";

export interface WriteCredentialOptions {
  secTag: number;
  type: number;
  /** PEM (or PSK hex …) to store. */
  content: string;
  /**
   * Line endings of the bytes sent: `lf` (default; the only byte-verified form on real
   * modems), `crlf`, or `keep` the content as given.
   */
  lineEndings?: LineEndings;
  /** List the credential after writing and check it (default true). */
  verify?: boolean;
  /** Modem firmware string: the listed hash is compared on ≥ 1.3.2, presence only below. */
  firmware?: string;
  /** Overrides `firmware`: true = the listed hash must match, false = presence only. */
  compareHash?: boolean;
}

export interface WriteCredentialResult {
  /** Lowercase hex SHA-256 of the exact bytes stored (those between the quotes). */
  sha256: string;
  /** Number of bytes stored (UTF-8). */
  bytes: number;
  verified: boolean;
  /** How the write was verified: listed hash equal, listed at all, or not checked. */
  verification: "hash" | "presence" | "none";
}

/** Applies the line-ending policy; the result is exactly what goes between the quotes. */
export function credentialPayload(content: string, lineEndings: LineEndings = "lf"): string {
  if (lineEndings === "keep") return content;
  const lf = content.replace(/\r\n/g, "\n");
  return lineEndings === "lf" ? lf : lf.replace(/\n/g, "\r\n");
}

/** Lowercase hex SHA-256 of the UTF-8 bytes, i.e. what `AT%CMNG=1` lists for this content. */
export function credentialSha256(payload: string): string {
  return createHash("sha256").update(payload, "utf8").digest("hex");
}

/** What the modem will store for `payload` and how the listed hash may legitimately look. */
interface ExpectedStorage {
  /** Exactly the bytes the modem should store. */
  stored: string;
  /** Shell mode: the LF-only form, which some firmware may store instead of CR LF. */
  alternative?: string;
}

/**
 * In shell mode each line break travels as the two characters `\n` and the firmware stores
 * CR LF (nrf91-at.md §9), whatever line endings were asked for; in AT mode the bytes between
 * the quotes are stored as sent.
 */
function expectedStorage(at: AtClient, payload: string): ExpectedStorage {
  if (at.mode !== "shell" || !/[\r\n]/.test(payload)) return { stored: payload };
  return { stored: shellStoredText(payload), alternative: payload.replace(/\r\n/g, "\n") };
}

/** Refuses content the modem cannot take inside `AT%CMNG=0,…,"<content>"`; nothing is sent. */
function assertWritableContent(at: AtClient, payload: string, where: string, facts: object): void {
  const details = { port: at.portName, ...facts };
  if (payload === "") {
    throw new ModemError(
      "ERR_MODEM_CREDENTIAL_CONTENT",
      `the credential for ${where} is empty; the modem does not store empty content. Check the file. Nothing was written.`,
      { details },
    );
  }
  // CR/LF are fine inside quotes (the AT host ignores terminators there); a quote would end the
  // string early, and backspace/DEL would be executed by the AT host.
  const bad = /["\u0000\u0008\u007f]/.exec(payload);
  if (bad) {
    throw new ModemError(
      "ERR_MODEM_CREDENTIAL_CONTENT",
      `the credential for ${where} contains ${bad[0] === '"' ? 'a "' : `byte 0x${bad[0].charCodeAt(0).toString(16).padStart(2, "0")}`} at position ${bad.index}, which cannot be sent inside AT%CMNG. Nothing was written.`,
      { details: { ...details, position: bad.index } },
    );
  }
  assertShellCanCarry(at, payload, where);
}

/**
 * Refuses a multi-line credential for shell firmware without the LF unescape: the modem would
 * store the two characters `\n` instead of line breaks (nrf91-at.md §9). Callers that know the
 * mode before connecting (`--mode shell`) call it before opening the port.
 */
export function assertShellCanCarry(
  link: Pick<AtClient, "mode" | "portName" | "shellLfUnescape">,
  content: string,
  where: string,
): void {
  if (link.mode !== "shell" || link.shellLfUnescape !== false || !/[\r\n]/.test(content)) return;
  throw new ModemError(
    "ERR_MODEM_SHELL_LF_UNESCAPE",
    `cannot write ${where} to ${link.portName}: the credential has line breaks, and this shell firmware does not turn \\n back into line breaks, so the modem would store a corrupt PEM. Either ${SHELL_LF_ADVICE}. Nothing was sent.`,
    { details: { port: link.portName } },
  );
}

/**
 * Stores a credential (`AT%CMNG=0,<tag>,<type>,"<content>"`) and verifies it by listing
 * (`AT%CMNG=1,<tag>,<type>`). The modem must be offline (see `withOfflineMode`).
 */
export async function writeCredential(
  at: AtClient,
  options: WriteCredentialOptions,
): Promise<WriteCredentialResult> {
  const { secTag, type } = options;
  assertUserSecTag(secTag, at.portName);
  assertCredentialType(type);
  const payload = credentialPayload(options.content, options.lineEndings);
  const where = `sec tag ${secTag} type ${credentialTypeName(type)}`;
  assertWritableContent(at, payload, where, { secTag, type });
  const expected = expectedStorage(at, payload);
  let sha256 = credentialSha256(expected.stored);
  let bytes = Buffer.byteLength(expected.stored, "utf8");
  const command = `AT%CMNG=0,${secTag},${type},"${payload}"`;
  try {
    await at.send(command);
  } catch (error) {
    if (isNrfProvisionError(error, "ERR_AT_COMMAND_TOO_LONG")) {
      const commandBytes = Buffer.byteLength(command, "utf8");
      throw new ModemError(
        "ERR_MODEM_CREDENTIAL_TOO_LONG",
        `cannot write ${where} to ${at.portName}: the credential is ${bytes} bytes, making a ${commandBytes}-byte AT%CMNG command; the modem accepts commands up to ${MAX_COMMAND_BYTES} bytes. Store fewer certificates in this slot. Nothing was written.`,
        { cause: error, details: { port: at.portName, secTag, type, bytes, commandBytes } },
      );
    }
    throw error;
  }
  if (options.verify === false) return { sha256, bytes, verified: false, verification: "none" };
  const compareHash =
    options.compareHash ??
    (options.firmware === undefined ? null : firmwareListsCredentialHashes(options.firmware));
  const [listed] = await listCredentials(at, { secTag, type });
  if (listed === undefined) {
    throw verifyError(at, where, { secTag, type, expected: sha256, listed: null }, "is not listed");
  }
  if (compareHash === false || (compareHash === null && listed.sha256 === null)) {
    return { sha256, bytes, verified: true, verification: "presence" };
  }
  if (
    expected.alternative !== undefined &&
    listed.sha256 === credentialSha256(expected.alternative)
  ) {
    // Firmware that stored the LF form: the credential is intact, just not CR LF.
    sha256 = listed.sha256;
    bytes = Buffer.byteLength(expected.alternative, "utf8");
  }
  if (listed.sha256 !== sha256) {
    const facts = { secTag, type, expected: sha256, listed: listed.sha256 };
    if (expected.alternative !== undefined && listed.sha256 !== null) {
      throw shellAlteredError(at, where, facts, credentialSha256(expected.alternative));
    }
    throw verifyError(
      at,
      where,
      facts,
      listed.sha256 === null
        ? "is listed without a SHA-256"
        : `is listed with SHA-256 ${listed.sha256}, expected ${sha256}`,
    );
  }
  return { sha256, bytes, verified: true, verification: "hash" };
}

/** What a verification failure names: the credential, the hash sent and the hash listed. */
interface VerifyFacts {
  secTag: number;
  type: number;
  expected: string;
  listed: string | null;
}

function verifyError(at: AtClient, where: string, facts: VerifyFacts, what: string): ModemError {
  return new ModemError(
    "ERR_MODEM_CREDENTIAL_VERIFY",
    `after writing ${where} to ${at.portName}, the credential ${what}. The modem did not store what was sent (LF vs CRLF line endings?); write it again or check the content.`,
    { details: { port: at.portName, ...facts } },
  );
}

/** A shell-mode write whose listed hash is neither the CR LF nor the LF form of what was sent. */
function shellAlteredError(
  at: AtClient,
  where: string,
  facts: VerifyFacts,
  lfSha256: string,
): ModemError {
  return new ModemError(
    "ERR_MODEM_CREDENTIAL_VERIFY",
    `after writing ${where} to ${at.portName} in shell mode, the modem lists SHA-256 ${facts.listed}; expected ${facts.expected}, the hash of the credential with CR LF line breaks (what shell firmware with the LF unescape stores), or ${lfSha256} of its LF form. The shell altered the bytes on the way, so the stored credential is corrupt: ${SHELL_LF_ADVICE}, then write it again.`,
    { details: { port: at.portName, ...facts, expectedForm: "crlf", lfSha256 } },
  );
}

/**
 * Deletes one credential (`AT%CMNG=3,<tag>,<type>`). Returns false when nothing was stored
 * (CME 513) and `ignoreMissing` is set; that case throws otherwise.
 */
export async function deleteCredential(
  at: AtClient,
  options: { secTag: number; type: number; ignoreMissing?: boolean },
): Promise<boolean> {
  assertUserSecTag(options.secTag, at.portName);
  assertCredentialType(options.type);
  try {
    await at.send(`AT%CMNG=3,${options.secTag},${options.type}`);
    return true;
  } catch (error) {
    if (options.ignoreMissing && isCmeError(error, 513)) return false;
    throw error;
  }
}

export interface StoredCredential extends CredentialEntry {
  /** The stored content; types 1–3 (certificates, keys, PSKs) are not readable on real modems. */
  content: string;
}

/** Reads one credential (`AT%CMNG=2,<tag>,<type>`); the modem refuses private types with 514. */
export async function readCredential(
  at: AtClient,
  options: { secTag: number; type: number },
): Promise<StoredCredential> {
  assertUserSecTag(options.secTag, at.portName);
  assertCredentialType(options.type);
  const command = `AT%CMNG=2,${options.secTag},${options.type}`;
  const response = await at.send(command, { responsePrefix: "%CMNG:" });
  for (const line of response.lines) {
    const match = /^%CMNG:\s*(\d+)\s*,\s*(\d+)\s*,\s*"([0-9A-Fa-f]*)"\s*,\s*"([^"]*)"\s*$/.exec(
      line,
    );
    if (match) {
      const type = Number(match[2]);
      return {
        secTag: Number(match[1]),
        type,
        typeName: credentialTypeName(type),
        sha256: match[3] ? match[3].toLowerCase() : null,
        content: match[4]!,
      };
    }
  }
  throw new ModemError(
    "ERR_MODEM_UNEXPECTED_RESPONSE",
    `the modem on ${at.portName} answered ${command} without the credential content.`,
    { details: { port: at.portName, command, lines: response.lines } },
  );
}

function assertCredentialType(type: number): void {
  if (!Number.isInteger(type) || type < 0 || type > 255) {
    throw new ModemError("ERR_MODEM_CREDENTIAL_TYPE", `credential type ${type} is not valid.`, {
      details: { type },
    });
  }
}
