import type { KeyObject } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { decodeProtectedHeader, jwtVerify } from "jose";
import { bearer, SimHttpError } from "./http.js";
import type { SimCloudStore } from "./store.js";

const SEVEN_DAYS_S = 7 * 86_400;

export function requireApiKey(store: SimCloudStore, request: IncomingMessage): void {
  const token = bearer(request);
  if (token === null) throw new SimHttpError(401, 40100, "Missing Authorization: Bearer <API key>");
  if (token !== store.apiKey)
    throw new SimHttpError(401, 40100, "Invalid API key (or wrong token type)");
}

/** API key, or a device JWT for this device (ES256, sub = device ID, iat/exp checked). */
export async function authorizeDevice(
  store: SimCloudStore,
  request: IncomingMessage,
  deviceId: string,
): Promise<void> {
  const token = bearer(request);
  if (token === null) throw new SimHttpError(401, 40100, "Missing Authorization header");
  if (token === store.apiKey) return;
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw new SimHttpError(401, 40100, "Invalid API key or malformed JWT");
  }
  if (alg !== "ES256")
    throw new SimHttpError(401, 40100, `JWT alg must be ES256, got ${String(alg)}`);
  const keys = store.registry.jwtKeys(deviceId);
  if (keys.length === 0) {
    throw new SimHttpError(
      401,
      40100,
      `No certificate or public key is registered for device ${deviceId}`,
    );
  }
  let lastProblem = "";
  for (const key of keys) {
    try {
      await verifyDeviceJwt(store, token, key, deviceId);
      return;
    } catch (error) {
      lastProblem = (error as Error).message;
    }
  }
  throw new SimHttpError(401, 40100, `Device JWT refused for ${deviceId}: ${lastProblem}`);
}

async function verifyDeviceJwt(
  store: SimCloudStore,
  token: string,
  key: KeyObject,
  deviceId: string,
): Promise<void> {
  const { payload } = await jwtVerify(token, key, {
    algorithms: ["ES256"],
    subject: deviceId,
    maxTokenAge: SEVEN_DAYS_S,
    clockTolerance: store.options.jwtClockToleranceSeconds ?? 60,
    currentDate: new Date(store.now()),
  });
  if (
    payload.exp !== undefined &&
    payload.iat !== undefined &&
    payload.exp - payload.iat > SEVEN_DAYS_S
  ) {
    throw new Error("JWT lifetime exceeds 7 days");
  }
}

/** A Nordic device's ownership code, as AssociateDevice and CreateDeviceCertificate check it. */
export function checkOwnershipCode(store: SimCloudStore, deviceId: string, code: string): void {
  const expected = store.ownershipCodes.get(deviceId);
  if (expected === undefined) {
    throw new SimHttpError(
      404,
      40411,
      `No Nordic product with ownership code found for ${deviceId}`,
    );
  }
  if (code !== expected)
    throw new SimHttpError(400, 40102, `Invalid ownership code for ${deviceId}`);
}
