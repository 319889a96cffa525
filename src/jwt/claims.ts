import { deviceIdProblem } from "../device-id/index.js";
import { JwtError } from "./errors.js";

/** nRF Cloud SDK cap on device JWT lifetimes (`NRF_CLOUD_JWT_VALID_TIME_S_MAX`). */
export const MAX_JWT_LIFETIME_SECONDS = 7 * 24 * 60 * 60;

/** Matches the REST API's auto-generated JWT lifetime (`CONFIG_NRF_CLOUD_REST_AUTOGEN_JWT_VALID_TIME_S`). */
export const DEFAULT_JWT_LIFETIME_SECONDS = 300;

/** Protected header of a device JWT. `typ` and `kid` are optional on tokens made elsewhere. */
export interface DeviceJwtHeader {
  alg: "ES256";
  typ?: string;
  kid?: string;
  [name: string]: unknown;
}

/** Claims every verified device JWT has; other claims (`jti`, `iss`, `aud` …) pass through. */
export interface DeviceJwtClaims {
  sub: string;
  iat: number;
  exp: number;
  jti?: string;
  [name: string]: unknown;
}

/** Throws ERR_JWT_DEVICE_ID unless `deviceId` is a valid nRF Cloud device ID of ≤ 64 characters. */
export function assertValidDeviceId(deviceId: string): void {
  const problem = deviceIdProblem(deviceId);
  if (problem !== null) {
    throw new JwtError(
      "ERR_JWT_DEVICE_ID",
      `Invalid device ID ${JSON.stringify(deviceId)}: ${problem}.`,
      { details: { deviceId } },
    );
  }
}

/** Throws ERR_JWT_LIFETIME unless `seconds` is a whole number in 1 … 7 days. */
export function assertValidLifetime(seconds: number, deviceId: string): void {
  if (!Number.isSafeInteger(seconds) || seconds <= 0 || seconds > MAX_JWT_LIFETIME_SECONDS) {
    throw new JwtError(
      "ERR_JWT_LIFETIME",
      `JWT lifetime for device ${deviceId} must be a whole number of seconds from 1 to ${MAX_JWT_LIFETIME_SECONDS} (7 days), got ${seconds}.`,
      {
        details: {
          deviceId,
          lifetimeSeconds: seconds,
          maxLifetimeSeconds: MAX_JWT_LIFETIME_SECONDS,
        },
      },
    );
  }
}
