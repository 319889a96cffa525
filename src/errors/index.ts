/**
 * One base class for every failure nrf-provision reports, in the style of `jose`'s errors:
 * a stable string `code` scripts can branch on, `details` with the facts (board, device,
 * command, status …), the original `cause` kept, and a message that says what to do next.
 */
export class NrfProvisionError extends Error {
  /** Stable machine-readable code, e.g. `ERR_AT_TIMEOUT`. Never changes between versions. */
  readonly code: string;
  /** Structured facts about the failure (no secrets). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }

  toJSON(): { name: string; code: string; message: string; details: Record<string, unknown> } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      details: { ...this.details },
    };
  }
}

/** True when `error` is an NrfProvisionError (optionally with the given code). */
export function isNrfProvisionError(error: unknown, code?: string): error is NrfProvisionError {
  return error instanceof NrfProvisionError && (code === undefined || error.code === code);
}

/** A one-line description of any thrown value, for logs and summaries. */
export function describeError(error: unknown): string {
  if (error instanceof NrfProvisionError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}
