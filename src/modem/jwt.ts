import type { AtClient } from "../at/index.js";
import { isNrfProvisionError } from "../errors/index.js";
import { ModemError } from "./errors.js";
import { assertQuotableText, assertUserSecTag } from "./validate.js";

export interface ModemJwtOptions {
  /** Seconds until `exp`; 0 or omitted: no `iat`/`exp` claims. */
  lifetimeSeconds?: number;
  subject?: string | undefined;
  audience?: string | undefined;
  /** Sign with the key in this sec tag instead of the device identity key. */
  secTag?: number | undefined;
  /** Key in `secTag`: 2 client key (default) or 8 endorsement key. */
  keyType?: 2 | 8;
}

export interface ModemJwt {
  /** Compact JWS, base64url (the modem may emit standard base64; it is normalised). */
  token: string;
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/** Builds `AT%JWT=0,<exp_delta>,"<sub>","<aud>"[,<sec_tag>,<key_type>]`. */
export function jwtCommand(options: ModemJwtOptions = {}): string {
  const lifetime = options.lifetimeSeconds ?? 0;
  if (!Number.isInteger(lifetime) || lifetime < 0) {
    throw new ModemError(
      "ERR_MODEM_JWT_OPTIONS",
      `JWT lifetime ${lifetime} is not a whole number of seconds ≥ 0.`,
      {
        details: { lifetimeSeconds: lifetime },
      },
    );
  }
  for (const [what, value] of [
    ["subject", options.subject],
    ["audience", options.audience],
  ] as const) {
    if (value !== undefined) {
      assertQuotableText(value, `the JWT ${what}`, "ERR_MODEM_JWT_OPTIONS", { [what]: value });
    }
  }
  const parameters = [
    "0",
    String(lifetime),
    options.subject === undefined ? "" : `"${options.subject}"`,
    options.audience === undefined ? "" : `"${options.audience}"`,
  ];
  if (options.secTag !== undefined) {
    assertUserSecTag(options.secTag);
    parameters.push(String(options.secTag), String(options.keyType ?? 2));
  }
  while (parameters.at(-1) === "") parameters.pop();
  return `AT%JWT=${parameters.join(",")}`;
}

/** Turns standard base64 (`+/=`) into base64url, leaving base64url untouched. */
function toBase64Url(text: string): string {
  return text.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/g, "");
}

/**
 * Has the modem sign a JWT (`AT%JWT`, mfw ≥ 1.3). The modem needs to know the time: this
 * checks `AT+CCLK?` first so a missing clock is reported as such, not as a JWT error.
 */
export async function modemJwt(at: AtClient, options: ModemJwtOptions = {}): Promise<ModemJwt> {
  const command = jwtCommand(options);
  try {
    await at.send("AT+CCLK?", { responsePrefix: "+CCLK:" });
  } catch (error) {
    if (isNrfProvisionError(error, "ERR_AT_ERROR") || isNrfProvisionError(error, "ERR_AT_CME")) {
      throw new ModemError(
        "ERR_MODEM_TIME_UNKNOWN",
        `the modem on ${at.portName} does not know the time (AT+CCLK? failed), so it cannot sign a JWT. Let it attach to the network (AT+CFUN=1) or set the clock with AT+CCLK, then retry.`,
        { cause: error, details: { port: at.portName } },
      );
    }
    throw error;
  }
  const response = await at.send(command, { responsePrefix: "%JWT:" });
  const line = response.lines.find((candidate) => candidate.startsWith("%JWT:"));
  const quoted = line === undefined ? null : /"([^"]*)"/.exec(line);
  const token = quoted ? quoted[1]!.split(".").map(toBase64Url).join(".") : "";
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((part) => !/^[\w-]+$/.test(part))) {
    throw new ModemError(
      "ERR_MODEM_UNEXPECTED_RESPONSE",
      `the modem on ${at.portName} answered ${command} without a JWT.`,
      { details: { port: at.portName, command, lines: response.lines } },
    );
  }
  return {
    token,
    header: decodeJsonPart(parts[0]!, at, command),
    claims: decodeJsonPart(parts[1]!, at, command),
  };
}

function decodeJsonPart(part: string, at: AtClient, command: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // Reported below with the command that produced it.
  }
  throw new ModemError(
    "ERR_MODEM_UNEXPECTED_RESPONSE",
    `the JWT from ${command} on ${at.portName} has a part that is not a base64url JSON object.`,
    { details: { port: at.portName, command } },
  );
}
