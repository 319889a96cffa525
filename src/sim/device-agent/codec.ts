import { decode, encode } from "cborg";

// The device side of the provisioning CBOR (reference §3.4): the service's command array in,
// the response array out. Arrays may come definite or indefinite (a build without
// ZCBOR_CANONICAL); cborg reads both.

export type DeviceCommand =
  | {
      kind: "at";
      correlationId: string;
      setCommand: string;
      parameters: string;
      ignoreCme: number[];
    }
  | { kind: "config"; correlationId: string; settings: Map<string, string> }
  | { kind: "finished"; correlationId: string };

export type DeviceResponse =
  | { kind: "error"; correlationId: string; cmeError: number; message: string }
  | { kind: "at"; correlationId: string; message: string }
  | { kind: "config-ack"; correlationId: string }
  | { kind: "finished-ack"; correlationId: string };

/** `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.yyyyyyyy`: the longest ID the client keeps (§3.4). */
export const MAX_CORRELATION_ID_LENGTH = 45;
/** At most this many ignored CME codes per AT command (the CDDL's 0–6). */
const MAX_IGNORE_CME = 6;
/** Key/value pairs one config command may carry (the newer CDDL). */
const MAX_CONFIG_PAIRS = 100;

/** Why a batch could not be decoded: `EINVAL` malformed, `ENOMEM` more records than `limit`. */
export class CommandDecodeError extends Error {
  constructor(
    readonly errno: "EINVAL" | "ENOMEM",
    message: string,
  ) {
    super(message);
  }
}

const isUint = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= 0;

function readCommand(item: unknown, index: number): DeviceCommand {
  const bad = (why: string) => new CommandDecodeError("EINVAL", `command ${index}: ${why}`);
  if (!Array.isArray(item) || typeof item[0] !== "string") throw bad("not [correlationId, …]");
  const [correlationId, type, ...rest] = item as [string, unknown, ...unknown[]];
  if (correlationId.length > MAX_CORRELATION_ID_LENGTH)
    throw bad(`correlation ID longer than ${MAX_CORRELATION_ID_LENGTH} characters`);
  if (type === 0) {
    const [setCommand, parameters, ignore] = rest;
    if (typeof setCommand !== "string" || typeof parameters !== "string" || rest.length !== 3)
      throw bad("an AT command is [corr, 0, setCommand, parameters, [ignoreCme…]]");
    if (!Array.isArray(ignore) || ignore.length > MAX_IGNORE_CME || !ignore.every(isUint))
      throw bad(`ignoreCme must be 0–${MAX_IGNORE_CME} unsigned integers`);
    return { kind: "at", correlationId, setCommand, parameters, ignoreCme: ignore as number[] };
  }
  if (type === 1) {
    const [pairs] = rest;
    if (!(pairs instanceof Map) || pairs.size > MAX_CONFIG_PAIRS || rest.length !== 1)
      throw bad(
        `a config command is [corr, 1, {key: value}] with at most ${MAX_CONFIG_PAIRS} pairs`,
      );
    for (const [key, value] of pairs)
      if (typeof key !== "string" || typeof value !== "string")
        throw bad("config keys and values are text");
    return { kind: "config", correlationId, settings: pairs as Map<string, string> };
  }
  if (type === 2 && rest.length === 0) return { kind: "finished", correlationId };
  throw bad(`unknown command type ${String(type)}`);
}

/**
 * Decodes the service's answer to `GET /v1/provisioning/commands`: 1…limit records. An empty
 * array is malformed (EINVAL); more than `limit` records fail the whole batch (ENOMEM, the
 * "too many commands" event), as the firmware's fixed-size decoder does.
 */
export function decodeCommands(body: Uint8Array, limit: number | undefined): DeviceCommand[] {
  let decoded: unknown;
  try {
    decoded = decode(body, { useMaps: true });
  } catch (error) {
    throw new CommandDecodeError("EINVAL", `not CBOR: ${(error as Error).message}`);
  }
  if (!Array.isArray(decoded)) throw new CommandDecodeError("EINVAL", "not a CBOR array");
  if (decoded.length === 0) throw new CommandDecodeError("EINVAL", "an empty command array");
  if (limit !== undefined && decoded.length > limit)
    throw new CommandDecodeError(
      "ENOMEM",
      `${decoded.length} commands in one batch, more than the ${limit} this client decodes`,
    );
  return decoded.map(readCommand);
}

/** The response array the device posts: `[corr, 99, cme, msg]`, `[corr, 100, msg]`, `[corr, 101]`, `[corr, 102]`. */
export function encodeResponses(responses: readonly DeviceResponse[]): Uint8Array {
  const record = (response: DeviceResponse): unknown[] => {
    if (response.kind === "error")
      return [response.correlationId, 99, response.cmeError, response.message];
    if (response.kind === "at") return [response.correlationId, 100, response.message];
    return [response.correlationId, response.kind === "config-ack" ? 101 : 102];
  };
  return encode(responses.map(record));
}
