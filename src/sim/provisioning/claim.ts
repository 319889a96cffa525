import {
  type AttestationToken,
  parseAttestationToken,
  verifyAttestation,
} from "../../attest/index.js";
import type { ProvisioningState, SimClaimedDevice } from "./state.js";

/** The claimed-device `deviceType` spelling of the docs' example (`nrf9160_SICA`). */
function deviceTypeLabel(token: AttestationToken): string {
  return token.deviceTypeName.replace(/^nRF(\d+) (\w+)$/, "nrf$1_$2");
}

export type ClaimVerdict =
  | { ok: true; token: AttestationToken }
  | { ok: false; status: number; message: string; deviceUuid?: string };

/**
 * Whether a token can be claimed: well-formed, from a device the identity database knows,
 * signed by that device's identity key, and not claimed yet (reference §4 "What the service
 * checks"). The nonce's age is not checked: gathered tokens are claimed later (§4, [I]).
 */
export function verifyClaimToken(state: ProvisioningState, claimToken: unknown): ClaimVerdict {
  if (typeof claimToken !== "string" || claimToken === "") {
    return { ok: false, status: 400, message: "claimToken is required" };
  }
  let token: AttestationToken;
  try {
    token = parseAttestationToken(claimToken);
  } catch (error) {
    return {
      ok: false,
      status: 400,
      message: `Malformed claim token: ${(error as Error).message}`,
    };
  }
  const deviceUuid = token.deviceUuid;
  const identity = state.identities.get(deviceUuid);
  if (!identity) {
    return {
      ok: false,
      status: 400,
      deviceUuid,
      message: `Unknown device ${deviceUuid}: not in the identity database`,
    };
  }
  if (!verifyAttestation(token, identity.publicKey)) {
    return {
      ok: false,
      status: 400,
      deviceUuid,
      message: `Invalid claim token for device ${deviceUuid}: the signature does not verify with its identity key`,
    };
  }
  if (state.claimed.has(deviceUuid)) {
    return {
      ok: false,
      status: 409,
      deviceUuid,
      message: `Device ${deviceUuid} is already claimed; unclaim it first`,
    };
  }
  return { ok: true, token };
}

export function claim(
  state: ProvisioningState,
  token: AttestationToken,
  tags: string[],
  ownerId: string,
): SimClaimedDevice {
  const identity = state.identities.get(token.deviceUuid);
  const device: SimClaimedDevice = {
    id: token.deviceUuid,
    deviceType: deviceTypeLabel(token),
    firmwareId: token.modemFirmwareUuid,
    imei: identity?.imei,
    ownerId,
    ownershipStatus: "IDENTIFIED",
    status: "READY",
    tags,
    claimedAt: state.iso(),
  };
  state.claimed.set(device.id, device);
  return device;
}

/** Tags from JSON: an array of strings. */
export function tagsOf(value: unknown): string[] | null {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((tag) => typeof tag === "string")) return null;
  return value;
}
