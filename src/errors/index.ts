import type { ErrorCode } from "./codes.js";

export type { ErrorCode } from "./codes.js";

/** What every error takes beside its code and message. */
export interface NrfProvisionErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
}

/**
 * One base class for every failure nrf-provision reports, in the style of `jose`'s errors:
 * a stable string `code` scripts can branch on, `details` with the facts (board, device,
 * command, status …), the original `cause` kept, and a message that says what to do next.
 *
 * Each layer subclasses it with its own closed union of codes (`AtError` carries an
 * `AtErrorCode`, `CaError` a `CaErrorCode` …), so `switch (error.code)` over a layer's
 * errors is checked for exhaustiveness by the compiler; `ErrorCode` is the union of them all.
 */
export class NrfProvisionError<Code extends string = string> extends Error {
  /** Stable machine-readable code, e.g. `ERR_AT_TIMEOUT`. Never changes between versions. */
  readonly code: Code;
  /** Structured facts about the failure (no secrets). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: Code, message: string, options: NrfProvisionErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }

  toJSON(): { name: string; code: Code; message: string; details: Record<string, unknown> } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      details: { ...this.details },
    };
  }
}

/**
 * True when `error` is an NrfProvisionError, and when `code` is given, one with that code;
 * the type narrows to it (`isNrfProvisionError(e, "ERR_AT_CME")` → `e.code` is `"ERR_AT_CME"`).
 */
export function isNrfProvisionError<C extends ErrorCode = ErrorCode>(
  error: unknown,
  code?: C,
): error is NrfProvisionError<C> {
  return error instanceof NrfProvisionError && (code === undefined || error.code === code);
}

/** A one-line description of any thrown value, for logs and summaries. */
export function describeError(error: unknown): string {
  if (error instanceof NrfProvisionError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}
