import { type AtClient, KEYGEN_TIMEOUT_MS } from "../at/index.js";
import { assertKeygenTrusted, type KeygenOutput, parseKeygenOutput } from "../attest/index.js";
import { ModemError } from "./errors.js";
import { assertQuotableText, assertUserSecTag } from "./validate.js";

export interface KeygenOptions {
  secTag: number;
  /** `csr`: PKCS#10 CSR (`<response_content>` 0); `public-key`: SubjectPublicKeyInfo (1). */
  content: "csr" | "public-key";
  /** Subject attributes, e.g. `CN=nrf-352656100367872`; without CN the modem uses its device UUID. */
  attributes?: string | undefined;
  /** 9-character bit string such as `101010000`; needs `attributes` (positional parameter). */
  keyUsage?: string | undefined;
  /** Default 60 s (the AT layer's KEYGEN timeout): generation time is undocumented. */
  timeoutMs?: number;
}

export interface ModemKeygenResult extends KeygenOutput {
  /** The `%KEYGEN: "…"` line exactly as received, for archiving. */
  response: string;
}

/** Builds `AT%KEYGEN=<tag>,2,<0|1>[,"<attributes>"[,"<key usage>"]]`, refusing unsafe input. */
export function keygenCommand(options: KeygenOptions): string {
  assertUserSecTag(options.secTag);
  const content = options.content === "csr" ? 0 : 1;
  let command = `AT%KEYGEN=${options.secTag},2,${content}`;
  if (options.attributes !== undefined) {
    assertQuotableText(options.attributes, "the key attributes", "ERR_MODEM_ATTRIBUTES", {
      attributes: options.attributes,
    });
    command += `,"${options.attributes}"`;
  }
  if (options.keyUsage !== undefined) {
    if (!/^[01]{9}$/.test(options.keyUsage)) {
      throw new ModemError(
        "ERR_MODEM_ATTRIBUTES",
        `key usage "${options.keyUsage}" is not a 9-character string of 0 and 1 (e.g. "101010000").`,
        { details: { keyUsage: options.keyUsage } },
      );
    }
    if (options.attributes === undefined) {
      throw new ModemError(
        "ERR_MODEM_ATTRIBUTES",
        "a key usage needs subject attributes too (it is the parameter after them); pass e.g. CN=<device id>.",
        { details: { keyUsage: options.keyUsage } },
      );
    }
    command += `,"${options.keyUsage}"`;
  }
  return command;
}

/**
 * Generates a new P-256 key pair in `secTag` (the private key never leaves the modem) and
 * returns the parsed, digest-checked CSR or public key. The modem must be offline
 * (see `withOfflineMode`) and its firmware ≥ 1.3.0 (see `checkFirmwareSupportsKeygen`).
 */
export async function keygen(at: AtClient, options: KeygenOptions): Promise<ModemKeygenResult> {
  const command = keygenCommand(options);
  const response = await at.send(command, {
    responsePrefix: "%KEYGEN:",
    timeoutMs: options.timeoutMs ?? KEYGEN_TIMEOUT_MS,
  });
  const line = response.lines.find((candidate) => candidate.startsWith("%KEYGEN:"));
  if (line === undefined) {
    throw new ModemError(
      "ERR_MODEM_UNEXPECTED_RESPONSE",
      `the modem on ${at.portName} answered ${command} with OK but no %KEYGEN line.`,
      { details: { port: at.portName, command, lines: response.lines } },
    );
  }
  const output = parseKeygenOutput(line);
  assertKeygenTrusted(output, { secTag: options.secTag });
  const expectedKind = options.content;
  if (output.kind !== expectedKind) {
    throw new ModemError(
      "ERR_MODEM_UNEXPECTED_RESPONSE",
      `the modem on ${at.portName} returned a ${output.kind} for ${command}, not a ${expectedKind}.`,
      { details: { port: at.portName, command, kind: output.kind } },
    );
  }
  return { ...output, response: line };
}
