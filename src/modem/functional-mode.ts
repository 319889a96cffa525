import type { AtClient } from "../at/index.js";
import { describeError, type ErrorCode, isNrfProvisionError } from "../errors/index.js";
import { ModemError } from "./errors.js";

/** `+CFUN` modes in which credentials may be written and keys generated (ATREF `cmng_set`). */
export const OFFLINE_MODES: readonly number[] = [0, 4, 44];

/** Reads the functional mode (`AT+CFUN?` → `+CFUN: <n>`). */
export async function getFunctionalMode(at: AtClient): Promise<number> {
  const response = await at.send("AT+CFUN?", { responsePrefix: "+CFUN:" });
  for (const line of response.lines) {
    const match = /^\+CFUN:\s*(\d+)\s*$/.exec(line);
    if (match) return Number(match[1]);
  }
  throw new ModemError(
    "ERR_MODEM_UNEXPECTED_RESPONSE",
    `the modem on ${at.portName} answered AT+CFUN? without a "+CFUN: <mode>" line (got ${JSON.stringify(response.lines)}).`,
    { details: { port: at.portName, command: "AT+CFUN?", lines: response.lines } },
  );
}

/** Sets the functional mode (`AT+CFUN=<mode>`); resolves once the modem has answered OK. */
export async function setFunctionalMode(at: AtClient, mode: number): Promise<void> {
  if (!Number.isInteger(mode) || mode < 0 || mode > 255) {
    throw new ModemError(
      "ERR_MODEM_CFUN_MODE",
      `functional mode ${mode} is not a valid +CFUN value.`,
      {
        details: { port: at.portName, mode },
      },
    );
  }
  await at.send(`AT+CFUN=${mode}`);
}

/**
 * Runs `fn` with the modem in a non-active mode (default 4, flight mode), as credential writes
 * and key generation require, then restores the mode it found — also when `fn` fails. Already
 * offline (0, 4, 44): runs `fn` without touching the mode. A failed restore is reported with
 * `fn`'s failure (ERR_MODEM_CFUN_RESTORE), except when the board was unplugged: then the
 * disconnect (ERR_AT_DISCONNECTED) is thrown as it is.
 */
export async function withOfflineMode<T>(at: AtClient, fn: () => Promise<T>, mode = 4): Promise<T> {
  const previous = await getFunctionalMode(at);
  if (OFFLINE_MODES.includes(previous)) return fn();
  await setFunctionalMode(at, mode);
  let result: T;
  try {
    result = await fn();
  } catch (operationError) {
    await restoreMode(at, previous, operationError);
    throw operationError;
  }
  await restoreMode(at, previous, undefined);
  return result;
}

async function restoreMode(at: AtClient, previous: number, operationError: unknown): Promise<void> {
  try {
    await setFunctionalMode(at, previous);
  } catch (restoreError) {
    // The link is gone (board unplugged): the restore failing says nothing new, and the
    // disconnect is what the caller must see and act on.
    const unplugged = (error: unknown) => isNrfProvisionError(error, "ERR_AT_DISCONNECTED");
    if (unplugged(operationError) && unplugged(restoreError)) return;
    const failed =
      operationError === undefined
        ? "the operation succeeded but"
        : `the operation failed (${describeError(operationError)}) and`;
    throw new ModemError(
      "ERR_MODEM_CFUN_RESTORE",
      `${failed} restoring functional mode ${previous} on ${at.portName} failed (${describeError(restoreError)}). The modem may still be offline: send AT+CFUN=${previous} or reset the board.`,
      {
        cause: operationError ?? restoreError,
        details: {
          port: at.portName,
          previousMode: previous,
          operationError: summarize(operationError),
          restoreError: summarize(restoreError),
        },
      },
    );
  }
}

function summarize(error: unknown): { code: ErrorCode; message: string } | null {
  if (error === undefined) return null;
  if (isNrfProvisionError(error)) return { code: error.code, message: error.message };
  return { code: "ERR_UNEXPECTED", message: describeError(error) };
}
