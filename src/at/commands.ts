/**
 * What the client knows about a command before sending it: which lines answer it
 * (nrf91-at.md §2.2) and how long it may take.
 */

/** Longest command the modem accepts, without terminator (4096-byte buffer minus NUL). */
export const MAX_COMMAND_BYTES = 4095;

export const DEFAULT_TIMEOUT_MS = 10_000;
/** Key generation duration is undocumented; tools allow 15–30 s. */
export const KEYGEN_TIMEOUT_MS = 60_000;
export const CMNG_WRITE_TIMEOUT_MS = 20_000;

/**
 * Why the modem's AT host could not take `command` as one command, or undefined. It ends a
 * command at a terminator outside quotes, waits forever on an unbalanced quote, and treats
 * backspace/DEL as editing keys (nrf91-at.md §2.1).
 */
export function commandProblem(command: string): string | undefined {
  if (/[\x08\x7f]/.test(command))
    return "it contains a backspace or DEL byte, which the modem treats as editing";
  let inQuotes = false;
  for (const char of command) {
    if (char === '"') inQuotes = !inQuotes;
    else if ((char === "\r" || char === "\n") && !inQuotes) {
      return "it contains a line break outside quotes, which would end it early";
    }
  }
  return inQuotes
    ? "its quotes are unbalanced, so the modem would wait for the rest forever"
    : undefined;
}

/** Shapes of the answers that carry no prefix. */
const prefixlessAnswers: ReadonlyArray<[RegExp, RegExp]> = [
  [/^AT\+CGSN(=0)?$/i, /^\d{15}$/],
  [/^AT\+CGMR$/i, /^mfw|^\S*\d+\.\d+\.\d+/i],
  [/^AT\+CGMM$/i, /^nRF\d+/i],
  [/^AT\+CGMI$/i, /^Nordic/i],
  [/^AT\+CIMI$/i, /^\d{6,15}$/],
];

export interface ResponseMatcher {
  prefix: string | undefined;
  line: RegExp | undefined;
}

/**
 * How to recognise the lines that belong to `command`: its own prefix (`AT%KEYGEN=…` ↔
 * `%KEYGEN:`), or for prefix-less answers a shape. Everything else is unsolicited.
 */
export function responseMatcher(
  command: string,
  overrides: { responsePrefix?: string; responseLine?: RegExp } = {},
): ResponseMatcher {
  const trimmed = command.trim();
  const shape = prefixlessAnswers.find(([pattern]) => pattern.test(trimmed))?.[1];
  const derived = /^AT([+%#][A-Z0-9]+)/i.exec(trimmed)?.[1];
  return {
    prefix:
      overrides.responsePrefix ?? (shape ? undefined : derived && `${derived.toUpperCase()}:`),
    line: overrides.responseLine ?? shape,
  };
}

export function belongsTo(line: string, matcher: ResponseMatcher): boolean {
  const prefix = matcher.prefix?.toUpperCase();
  if (prefix !== undefined && line.toUpperCase().startsWith(prefix)) return true;
  return matcher.line?.test(line) ?? false;
}

/** Default timeout: key generation and credential writes take longer than anything else. */
export function defaultTimeoutFor(command: string, otherCommandsMs = DEFAULT_TIMEOUT_MS): number {
  const trimmed = command.trim().toUpperCase();
  if (trimmed.startsWith("AT%KEYGEN=")) return KEYGEN_TIMEOUT_MS;
  if (/^AT%CMNG=0\s*,/.test(trimmed)) return CMNG_WRITE_TIMEOUT_MS;
  return otherCommandsMs;
}
