import { type KeyObject, randomUUID, sign } from "node:crypto";
import {
  assertValidDeviceId,
  assertValidLifetime,
  DEFAULT_JWT_LIFETIME_SECONDS,
  type DeviceJwtClaims,
  type DeviceJwtHeader,
} from "./claims.js";
import { JwtError } from "./errors.js";
import { publicKeyKid, toDevicePrivateKey } from "./keys.js";

/** Per-key choices, fixed for every token a signer mints. */
export interface DeviceJwtSignerOptions {
  /** `true`: the firmware's kid (SHA-256 of the public key's DER SPKI, hex); a string: that kid. */
  kid?: boolean | string | undefined;
}

/** Per-token choices. */
export interface DeviceJwtMintOptions {
  deviceId: string;
  /** Seconds from `iat` to `exp`, 1 … 604800 (7 days). Default 300. */
  lifetimeSeconds?: number | undefined;
  /** `iat` in Unix seconds. Default: now. */
  issuedAt?: number | undefined;
  /** Default: a random UUID. */
  jti?: string;
}

export interface MintDeviceJwtOptions extends DeviceJwtSignerOptions, DeviceJwtMintOptions {
  /** The device's P-256 private key: a KeyObject or PEM (PKCS#8 or SEC1). */
  privateKey: KeyObject | string;
}

/** Mints device JWTs for one key; the per-key work (key parsing, kid, header) is done once. */
export interface DeviceJwtSigner {
  readonly header: Readonly<DeviceJwtHeader>;
  mint(options: DeviceJwtMintOptions): string;
}

/**
 * A signer for one device key. Use it to mint many tokens: parsing a PEM key alone costs
 * over ten times as much as signing one token.
 */
export function createDeviceJwtSigner(
  privateKey: KeyObject | string,
  options: DeviceJwtSignerOptions = {},
): DeviceJwtSigner {
  const key = toDevicePrivateKey(privateKey);
  const header: DeviceJwtHeader = { alg: "ES256", typ: "JWT" };
  if (options.kid === true) header.kid = publicKeyKid(key);
  else if (typeof options.kid === "string") {
    if (options.kid === "") throw new JwtError("ERR_JWT_OPTIONS", "A JWT kid must not be empty.");
    header.kid = options.kid;
  }
  Object.freeze(header);
  // The header never changes for this key: encode it once, not per token.
  const encodedHeaderDot = `${Buffer.from(JSON.stringify(header)).toString("base64url")}.`;

  return {
    header,
    mint({ deviceId, lifetimeSeconds = DEFAULT_JWT_LIFETIME_SECONDS, issuedAt, jti }) {
      assertValidDeviceId(deviceId);
      assertValidLifetime(lifetimeSeconds, deviceId);
      const iat = issuedAt ?? Math.floor(Date.now() / 1000);
      if (!Number.isSafeInteger(iat) || iat < 0) {
        throw new JwtError(
          "ERR_JWT_OPTIONS",
          `issuedAt for device ${deviceId} must be whole Unix seconds, got ${issuedAt}.`,
          { details: { deviceId, issuedAt } },
        );
      }
      if (jti === "") {
        throw new JwtError("ERR_JWT_OPTIONS", `The jti for device ${deviceId} must not be empty.`, {
          details: { deviceId },
        });
      }
      const claims: DeviceJwtClaims = {
        sub: deviceId,
        iat,
        exp: iat + lifetimeSeconds,
        jti: jti ?? randomUUID(),
      };
      const signingInput =
        encodedHeaderDot + Buffer.from(JSON.stringify(claims)).toString("base64url");
      // JWS wants the raw 64-byte r||s, not the DER that node:crypto produces by default.
      const signature = sign("sha256", Buffer.from(signingInput, "latin1"), {
        key,
        dsaEncoding: "ieee-p1363",
      });
      return `${signingInput}.${signature.toString("base64url")}`;
    },
  };
}

/**
 * Mints one ES256 device JWT. Prepares the key on every call (no hidden cache): for many
 * tokens with the same key, use `createDeviceJwtSigner`.
 */
export function mintDeviceJwt(options: MintDeviceJwtOptions): string {
  const { privateKey, kid, ...perToken } = options;
  return createDeviceJwtSigner(privateKey, { kid }).mint(perToken);
}
