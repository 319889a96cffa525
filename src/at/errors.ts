import { NrfProvisionError } from "../errors/index.js";

/** Stable codes of the AT layer (exit code 3). */
export type AtErrorCode =
  | "ERR_AT_CME"
  | "ERR_AT_CMS"
  | "ERR_AT_COMMAND_INVALID"
  | "ERR_AT_COMMAND_TOO_LONG"
  | "ERR_AT_DISCONNECTED"
  | "ERR_AT_ERROR"
  | "ERR_AT_FRAMING"
  | "ERR_AT_NO_RESPONDER"
  | "ERR_AT_TIMEOUT";

/** The facts every AT-layer failure carries, and the CME code for `ERR_AT_CME`. */
export interface AtErrorDetails {
  port: string;
  command: string;
  /** The number of `+CME ERROR: <n>` (`ERR_AT_CME`); null when the modem gave text. */
  cme?: number | null;
  [fact: string]: unknown;
}

/** An AT-layer failure, naming the port and the command. */
export class AtError extends NrfProvisionError<AtErrorCode> {
  declare readonly details: Readonly<AtErrorDetails>;

  constructor(
    code: AtErrorCode,
    message: string,
    options: { cause?: unknown; details: AtErrorDetails },
  ) {
    super(code, message, options);
  }
}

/** Meanings that hold for any command (nrf91-at.md §2.4). */
const genericMeanings: Readonly<Record<number, string>> = {
  0: "command not supported by this modem firmware (upgrade the modem firmware?)",
  50: "incorrect parameters",
  51: "command disabled in this software build",
  513: "not found",
  514: "not allowed / no access",
  515: "memory full",
  518: "not allowed in active state (CFUN 1, 2 or 21): set AT+CFUN=4 first",
  519: "already exists",
  523: "key generation failed",
  525: "JWT creation error",
  528: "not allowed while the power-off warning (%XPOFWARN) is active",
};

/** Where a command family gives a code a more precise meaning. */
const familyMeanings: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  CMNG: {
    513: "credential not found",
    514: "not allowed: this credential or sec tag cannot be accessed",
    515: "credential storage full",
    519: "credential already exists",
    // Meaning unconfirmed; reported for CRLF PEMs on mfw 2.0.2 (nrf91-at.md §2.4).
    527: "credential rejected (unconfirmed meaning; seen with CRLF PEMs: try LF line endings)",
  },
  KEYGEN: {
    514: "not allowed: the sec tag is protected or cannot be used for keys",
    515: "memory full: no room for a new key",
    519: "a key already exists in this sec tag: delete it first (AT%CMNG=3,<tag>,2)",
  },
  JWT: {
    513: "key not found in the sec tag",
    514: "key could not be read",
  },
};

/** Command name without `AT`, separator and arguments: `AT%CMNG=0,…` → `CMNG`. */
export function commandName(command: string): string {
  const match = /^AT[+%#]?([A-Z0-9]+)/i.exec(command.trim());
  return (match?.[1] ?? "").toUpperCase();
}

/** The documented meaning of `+CME ERROR: <code>` for this command; unknown codes keep the number. */
export function cmeMeaning(code: number, command: string): string {
  return (
    familyMeanings[commandName(command)]?.[code] ??
    genericMeanings[code] ??
    `unknown CME error ${code}`
  );
}
