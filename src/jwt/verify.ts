import type { KeyObject } from "node:crypto";
import { type DeviceJwtClaims, type DeviceJwtHeader, MAX_JWT_LIFETIME_SECONDS } from "./claims.js";
import { JwtError } from "./errors.js";
import { toDevicePublicKey } from "./keys.js";

/** A token's header and claims as written, not verified. */
export interface DecodedDeviceJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

export interface VerifiedDeviceJwt {
  header: DeviceJwtHeader;
  claims: DeviceJwtClaims;
}

export interface VerifyDeviceJwtOptions {
  /** The device's P-256 public key: KeyObject, SPKI PEM, or the device certificate PEM. */
  publicKey: KeyObject | string;
  /** When given, `sub` must equal it. */
  deviceId?: string | undefined;
  /** Current time in Unix seconds. Default: now. */
  now?: number;
  /** Allowed clock skew for `exp`, `nbf` and `iat`, in seconds. Default 60. */
  clockToleranceSeconds?: number;
}

/** Default skew allowance: device clocks (set from the network) may be off by tens of seconds. */
export const DEFAULT_JWT_CLOCK_TOLERANCE_SECONDS = 60;

const base64urlPart = /^[A-Za-z0-9_-]*$/;

interface TokenParts extends DecodedDeviceJwt {
  signingInput: string;
  signature: Buffer;
}

/** Splits and decodes a compact JWS without verifying anything. Throws ERR_JWT_MALFORMED. */
export function decodeDeviceJwt(token: string): DecodedDeviceJwt {
  const { header, claims } = parseToken(token);
  return { header, claims };
}

/**
 * Verifies an ES256 device JWT by the rules of nRF Cloud device JWTs, and returns its header
 * and claims. `jose` (loaded on first use: minting never needs it) checks the signature, that
 * `alg` is ES256, the required claims and the times; this module adds the nRF Cloud rules
 * (`exp` after `iat`, lifetime ≤ 7 days) and words every failure as a JwtError.
 * Checks, in order: structure, `alg` = ES256 (never `none` or HMAC), the raw r||s signature,
 * `sub`, and the times (`exp` required and not passed, `iat` not in the future, lifetime ≤ 7 days).
 */
export async function verifyDeviceJwt(
  token: string,
  options: VerifyDeviceJwtOptions,
): Promise<VerifiedDeviceJwt> {
  const publicKey = toDevicePublicKey(options.publicKey);
  const now = options.now ?? Date.now() / 1000;
  const tolerance = options.clockToleranceSeconds ?? DEFAULT_JWT_CLOCK_TOLERANCE_SECONDS;
  // NaN here would silently disable the time checks.
  if (!Number.isFinite(now) || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new JwtError(
      "ERR_JWT_OPTIONS",
      `now must be finite and clockToleranceSeconds finite and ≥ 0, got ${now} and ${tolerance}.`,
    );
  }
  // Our own reading first, so a bad token is refused in our words before jose sees it.
  const { header, signature } = parseToken(token);
  const verifiedHeader = checkHeader(header);
  if (signature.length !== 64) throw derSignatureError(signature.length);
  const claims = await joseVerify(token, publicKey, { ...options, now, tolerance });
  const { sub, iat, exp } = checkClaims(claims, options.deviceId, now, tolerance);
  return { header: verifiedHeader, claims: { ...claims, sub, iat, exp } };
}

let jose: Promise<typeof import("jose")> | undefined;

/** jose's `jwtVerify`, its failures mapped to JwtError codes. Returns the verified claims. */
async function joseVerify(
  token: string,
  publicKey: KeyObject,
  options: { deviceId?: string | undefined; now: number; tolerance: number },
): Promise<Record<string, unknown>> {
  jose ??= import("jose");
  const { jwtVerify, errors } = await jose;
  try {
    const { payload } = await jwtVerify(token, publicKey, {
      algorithms: ["ES256"],
      requiredClaims: ["sub", "exp", "iat"],
      // jose's JWTVerifyOptions declares `subject?: string`: undefined may not stand there.
      ...(options.deviceId === undefined ? {} : { subject: options.deviceId }),
      currentDate: new Date(options.now * 1000),
      clockTolerance: options.tolerance,
      maxTokenAge: MAX_JWT_LIFETIME_SECONDS,
    });
    return payload as Record<string, unknown>;
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      throw new JwtError(
        "ERR_JWT_SIGNATURE",
        "JWT signature does not match the public key: the token was signed with another key or altered.",
        { cause: error },
      );
    }
    if (error instanceof errors.JWTClaimValidationFailed || error instanceof errors.JWTExpired) {
      // The signature held: say which of our rules the claims break, in our order.
      const claims = error.payload as Record<string, unknown>;
      checkClaims(claims, options.deviceId, options.now, options.tolerance);
      const sub = typeof claims.sub === "string" ? claims.sub : "?";
      throw new JwtError("ERR_JWT_CLAIMS", `JWT for device ${sub}: ${error.message}.`, {
        cause: error,
        details: { deviceId: sub, claim: error.claim },
      });
    }
    if (error instanceof errors.JOSEError) throw malformed(error.message, error);
    throw error;
  }
}

function derSignatureError(length: number): JwtError {
  return new JwtError(
    "ERR_JWT_SIGNATURE",
    `JWT signature is ${length} bytes; ES256 needs the raw 64-byte r||s (DER-encoded ECDSA signatures are not valid JWS).`,
    { details: { signatureLength: length } },
  );
}

/** The nRF Cloud device JWT rules on verified claims: `sub`, then the times. */
function checkClaims(
  claims: Record<string, unknown>,
  deviceId: string | undefined,
  now: number,
  tolerance: number,
): { sub: string; iat: number; exp: number } {
  const sub = checkSubject(claims, deviceId);
  return { sub, ...checkTimes(claims, sub, now, tolerance) };
}

function parseToken(token: string): TokenParts {
  if (typeof token !== "string") throw malformed("a JWT must be a string");
  const parts = token.split(".");
  if (parts.length !== 3) {
    throw malformed(`a JWT has 3 dot-separated parts, this one has ${parts.length}`);
  }
  const [headerPart = "", payloadPart = "", signaturePart = ""] = parts;
  for (const [name, part] of [
    ["header", headerPart],
    ["payload", payloadPart],
    ["signature", signaturePart],
  ] as const) {
    // Buffer's decoder skips foreign characters; a token must not carry any.
    if (!base64urlPart.test(part)) throw malformed(`the ${name} is not base64url`);
  }
  return {
    header: decodeJsonObject(headerPart, "header"),
    claims: decodeJsonObject(payloadPart, "payload"),
    signingInput: `${headerPart}.${payloadPart}`,
    signature: Buffer.from(signaturePart, "base64url"),
  };
}

function decodeJsonObject(part: string, name: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch (cause) {
    throw malformed(`the ${name} is not JSON`, cause);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw malformed(`the ${name} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function checkHeader(header: Record<string, unknown>): DeviceJwtHeader {
  if (header.alg !== "ES256") {
    throw new JwtError(
      "ERR_JWT_ALG",
      `JWT alg is ${JSON.stringify(header.alg)}; device JWTs must be ES256 (alg "none" and HMAC are refused).`,
      { details: { alg: header.alg } },
    );
  }
  if (
    header.typ !== undefined &&
    (typeof header.typ !== "string" || header.typ.toUpperCase() !== "JWT")
  ) {
    throw malformed(`the header typ is ${JSON.stringify(header.typ)}, expected "JWT"`);
  }
  if (header.kid !== undefined && typeof header.kid !== "string")
    throw malformed("the header kid is not a string");
  // RFC 7515 §4.1.11: a recipient that does not understand a critical extension must reject.
  if (header.crit !== undefined)
    throw malformed("the header has critical extensions (crit), which are not supported");
  return header as DeviceJwtHeader;
}

function checkSubject(claims: Record<string, unknown>, deviceId: string | undefined): string {
  const { sub } = claims;
  if (typeof sub !== "string" || sub === "") {
    throw new JwtError(
      "ERR_JWT_SUBJECT",
      "JWT has no sub claim: nRF Cloud identifies the device by it.",
      {
        details: { expected: deviceId },
      },
    );
  }
  if (deviceId !== undefined && sub !== deviceId) {
    throw new JwtError(
      "ERR_JWT_SUBJECT",
      `JWT sub is ${JSON.stringify(sub)} but the device is ${JSON.stringify(deviceId)}: mint the token for this device.`,
      { details: { sub, expected: deviceId } },
    );
  }
  return sub;
}

function checkTimes(
  claims: Record<string, unknown>,
  sub: string,
  now: number,
  tolerance: number,
): { iat: number; exp: number } {
  const { iat, exp, nbf } = claims;
  const invalid = (message: string, details: Record<string, unknown> = {}) =>
    new JwtError("ERR_JWT_CLAIMS", `JWT for device ${sub}: ${message}.`, {
      details: { deviceId: sub, iat, exp, ...details },
    });
  if (!isNumericDate(exp)) throw invalid("exp is missing or not a number; device JWTs must expire");
  if (!isNumericDate(iat)) throw invalid("iat is missing or not a number");
  if (nbf !== undefined && !isNumericDate(nbf)) throw invalid("nbf is not a number");
  if (exp <= iat) throw invalid(`exp (${exp}) is not after iat (${iat})`);
  if (exp - iat > MAX_JWT_LIFETIME_SECONDS) {
    throw invalid(
      `lifetime ${exp - iat} s exceeds the 7-day maximum (${MAX_JWT_LIFETIME_SECONDS} s)`,
      {
        maxLifetimeSeconds: MAX_JWT_LIFETIME_SECONDS,
      },
    );
  }
  if (iat > now + tolerance)
    throw invalid(`iat ${iat} is in the future (now ${Math.floor(now)}); check the clock`);
  if (typeof nbf === "number" && nbf > now + tolerance)
    throw invalid(`not valid before ${nbf} (now ${Math.floor(now)})`);
  if (exp <= now - tolerance) {
    throw new JwtError(
      "ERR_JWT_EXPIRED",
      `JWT for device ${sub} expired at ${new Date(exp * 1000).toISOString()}: mint a new one.`,
      { details: { deviceId: sub, exp, now: Math.floor(now) } },
    );
  }
  return { iat, exp };
}

function isNumericDate(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

function malformed(reason: string, cause?: unknown): JwtError {
  return new JwtError("ERR_JWT_MALFORMED", `Malformed JWT: ${reason}.`, { cause });
}
