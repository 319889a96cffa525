import { verify } from "node:crypto";
import { parseAttestationToken, verifyAttestation } from "../../attest/index.js";
import type { ProvisioningState } from "./state.js";

export type DeviceAuth = { ok: true; deviceUuid: string } | { ok: false; message: string };

function json(part: string | undefined): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(part ?? "", "base64url").toString("utf8"));
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * A device JWT from `AT%JWT` (reference §3.2): ES256, `iss` = `<chip>.<device UUID>`, signed by
 * the device's identity key, `exp` in the future. The UUID is the text after the first dot.
 */
export function verifyDeviceJwt(state: ProvisioningState, jwt: string): DeviceAuth {
  const [header, payload, signature, ...extra] = jwt.split(".");
  const head = json(header);
  const claims = json(payload);
  if (!head || !claims || signature === undefined || extra.length > 0)
    return { ok: false, message: "malformed JWT" };
  if (head.alg !== "ES256")
    return { ok: false, message: `JWT alg ${String(head.alg)} is not ES256` };
  const issuer = typeof claims.iss === "string" ? claims.iss : "";
  const dot = issuer.indexOf(".");
  if (dot <= 0) return { ok: false, message: "JWT iss is not <chip>.<device UUID>" };
  const deviceUuid = issuer.slice(dot + 1).toLowerCase();
  const identity = state.identities.get(deviceUuid);
  if (!identity) return { ok: false, message: `unknown device ${deviceUuid}` };
  const signed = verify(
    "sha256",
    Buffer.from(`${header}.${payload}`),
    { key: identity.publicKey, dsaEncoding: "ieee-p1363" },
    Buffer.from(signature, "base64url"),
  );
  if (!signed)
    return { ok: false, message: "JWT signature does not verify with the device's identity key" };
  if (typeof claims.exp !== "number") return { ok: false, message: "JWT has no exp" };
  if (claims.exp * 1000 <= state.now()) return { ok: false, message: "JWT expired" };
  return { ok: true, deviceUuid };
}

/** The older clients' `Bearer att.<AT%ATTESTTOKEN value>` (reference §3.2). */
export function verifyAttestationAuth(state: ProvisioningState, token: string): DeviceAuth {
  try {
    const parsed = parseAttestationToken(token);
    const identity = state.identities.get(parsed.deviceUuid);
    if (!identity) return { ok: false, message: `unknown device ${parsed.deviceUuid}` };
    if (!verifyAttestation(parsed, identity.publicKey))
      return { ok: false, message: "attestation token signature does not verify" };
    return { ok: true, deviceUuid: parsed.deviceUuid };
  } catch (error) {
    return { ok: false, message: `malformed attestation token: ${(error as Error).message}` };
  }
}

export function authenticateDevice(
  state: ProvisioningState,
  authorization: string | undefined,
  options: { acceptAttestationToken: boolean },
): DeviceAuth {
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
  if (bearer === undefined) return { ok: false, message: "no Authorization: Bearer <JWT>" };
  if (bearer.startsWith("att.")) {
    return options.acceptAttestationToken
      ? verifyAttestationAuth(state, bearer.slice(4))
      : { ok: false, message: "attestation-token authentication is not accepted" };
  }
  return verifyDeviceJwt(state, bearer);
}
