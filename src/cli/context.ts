import { CliError } from "./errors.js";
import type { ExitCode } from "./exit-codes.js";
import type { CliIo } from "./io.js";

/** What a command's action gets besides its options: the I/O, and a way to set the exit code. */
export interface CliContext {
  readonly io: CliIo;
  /** Exit code to use when the action returns normally (default 0). */
  exitCode: ExitCode;
}

/** Writes one JSON document (for `--json`). */
export function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Writes lines of human-readable output. */
export function writeLines(io: CliIo, ...lines: string[]): void {
  io.stdout.write(`${lines.join("\n")}\n`);
}

/** A usage error (exit code 2), for option combinations commander cannot check itself. */
export function usageError(message: string): CliError {
  return new CliError("ERR_USAGE", message);
}

/** Parses an integer option, or fails with a usage error naming the option. */
export function parseIntegerOption(
  name: string,
  value: string,
  range: { min?: number; max?: number } = {},
): number {
  if (!/^-?\d+$/.test(value.trim())) throw usageError(`${name} must be an integer, got "${value}"`);
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw usageError(`${name} is out of range: ${value}`);
  if (range.min !== undefined && parsed < range.min) {
    throw usageError(`${name} must be at least ${range.min}, got ${parsed}`);
  }
  if (range.max !== undefined && parsed > range.max) {
    throw usageError(`${name} must be at most ${range.max}, got ${parsed}`);
  }
  return parsed;
}
