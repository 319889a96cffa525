import { createPublicKey, type KeyObject } from "node:crypto";
import { fromPemAll } from "../../der/index.js";
import { readCertificate } from "./certificate-facts.js";
import type { UploadedRow } from "./validate.js";

export interface DeviceShadow {
  reported: Record<string, unknown>;
  desired: Record<string, unknown>;
  version: number;
}

/** A public key built when first needed. */
export type LazyKey = () => KeyObject;

export interface SimDevice {
  id: string;
  type: "Generic" | "Gateway";
  subType: string;
  tags: string[];
  firmwareTypes: string[];
  /** Onboarding credential as uploaded (certificate or public-key PEM). */
  onboardingPem: string | null;
  certificateFingerprint: string | null;
  /** Key taken from the onboarded certificate or onboarding public key, for device JWTs. */
  onboardingKey: LazyKey | null;
  shadow: DeviceShadow;
  createdAt: string;
  updatedAt: string;
}

/** Why a row was refused; `conflict` when it clashes with existing devices (409 for OnboardDevice). */
export interface RowProblem {
  message: string;
  conflict: boolean;
}

export const DUPLICATE_CERTIFICATE =
  "The device certificate is already registered and attached to a different device.";

/** The simulated account: devices, registered JWT keys, certificate owners. */
export class DeviceRegistry {
  readonly devices = new Map<string, SimDevice>();
  /** Keys from RegisterPublicKeys, which may exist for devices that are not onboarded. */
  readonly publicKeys = new Map<string, KeyObject>();
  /** SHA-256 fingerprint of every onboarded certificate → its device, to find duplicates. */
  readonly certificateOwners = new Map<string, string>();

  constructor(private readonly now: () => number) {}

  /** Onboards one device (OnboardDevice or a CSV row); returns the problem or null. */
  onboard(row: UploadedRow): RowProblem | null {
    const credential = readCredential(row.pem);
    if (typeof credential === "string") return { message: credential, conflict: false };
    const owner = credential.fingerprint && this.certificateOwners.get(credential.fingerprint);
    if (owner && owner !== row.deviceId) return { message: DUPLICATE_CERTIFICATE, conflict: true };
    const existing = this.devices.get(row.deviceId);
    if (existing) {
      const same =
        existing.onboardingPem === row.pem &&
        existing.subType === row.subType &&
        existing.tags.join("|") === row.tags.join("|") &&
        existing.firmwareTypes.join("|") === row.firmwareTypes.join("|");
      if (same) return null;
      return {
        message: `Thing ${row.deviceId} already exists in account with different attributes`,
        conflict: true,
      };
    }
    const timestamp = new Date(this.now()).toISOString();
    this.devices.set(row.deviceId, {
      id: row.deviceId,
      type: row.subType.toLowerCase().includes("gateway") ? "Gateway" : "Generic",
      subType: row.subType,
      tags: row.tags,
      firmwareTypes: row.firmwareTypes,
      onboardingPem: row.pem,
      certificateFingerprint: credential.fingerprint,
      onboardingKey: credential.key,
      shadow: { reported: {}, desired: {}, version: 0 },
      createdAt: timestamp,
      updatedAt: timestamp,
    });
    if (credential.fingerprint) this.certificateOwners.set(credential.fingerprint, row.deviceId);
    return null;
  }

  /** RegisterCertificates: replaces the certificate of an onboarded device. */
  replaceCertificate(deviceId: string, pem: string): string | null {
    const device = this.devices.get(deviceId);
    if (!device) return `Device ${deviceId} is not onboarded; onboard it first`;
    const credential = readCredential(pem);
    if (typeof credential === "string") return credential;
    const owner = credential.fingerprint && this.certificateOwners.get(credential.fingerprint);
    if (owner && owner !== deviceId) return DUPLICATE_CERTIFICATE;
    if (device.certificateFingerprint) this.certificateOwners.delete(device.certificateFingerprint);
    device.onboardingPem = pem;
    device.certificateFingerprint = credential.fingerprint;
    device.onboardingKey = credential.key;
    device.updatedAt = new Date(this.now()).toISOString();
    if (credential.fingerprint) this.certificateOwners.set(credential.fingerprint, deviceId);
    return null;
  }

  /** RegisterPublicKeys: one key per device; a new upload overwrites it. */
  registerPublicKey(deviceId: string, pem: string): string | null {
    const key = readPublicKey(pem);
    if (typeof key === "string") return key;
    this.publicKeys.set(deviceId, key);
    return null;
  }

  /** Adds a device known only through association (legacy JITP flow). */
  associate(deviceId: string, subType: string | undefined): void {
    const existing = this.devices.get(deviceId);
    if (existing) {
      if (subType !== undefined) existing.subType = subType;
      return;
    }
    const timestamp = new Date(this.now()).toISOString();
    this.devices.set(deviceId, {
      id: deviceId,
      type: subType?.toLowerCase().includes("gateway") ? "Gateway" : "Generic",
      subType: subType ?? "",
      tags: [],
      firmwareTypes: [],
      onboardingPem: null,
      certificateFingerprint: null,
      onboardingKey: null,
      shadow: { reported: {}, desired: {}, version: 0 },
      createdAt: timestamp,
      updatedAt: timestamp,
    });
  }

  delete(deviceId: string): boolean {
    const device = this.devices.get(deviceId);
    if (!device) return false;
    if (device.certificateFingerprint) this.certificateOwners.delete(device.certificateFingerprint);
    this.devices.delete(deviceId);
    return true;
  }

  /** Keys a device JWT may be signed with: the registered key and the onboarding key. */
  jwtKeys(deviceId: string): KeyObject[] {
    const keys: KeyObject[] = [];
    const registered = this.publicKeys.get(deviceId);
    if (registered) keys.push(registered);
    const onboarding = this.devices.get(deviceId)?.onboardingKey;
    if (onboarding) keys.push(onboarding());
    return keys;
  }

  /** Merges a partial shadow document (null deletes a key) and bumps the version. */
  updateShadow(device: SimDevice, patch: { reported?: unknown; desired?: unknown }): void {
    if (isObject(patch.reported)) mergeInto(device.shadow.reported, patch.reported);
    if (isObject(patch.desired)) mergeInto(device.shadow.desired, patch.desired);
    device.shadow.version += 1;
    device.updatedAt = new Date(this.now()).toISOString();
  }
}

function readCredential(pem: string): { key: LazyKey; fingerprint: string | null } | string {
  if (pem.includes("BEGIN PUBLIC KEY")) {
    const key = readPublicKey(pem);
    return typeof key === "string" ? key : { key: () => key, fingerprint: null };
  }
  let facts: ReturnType<typeof readCertificate>;
  try {
    const [der] = fromPemAll(pem, ["CERTIFICATE"]);
    if (!der) throw new Error("no certificate PEM block");
    facts = readCertificate(der);
  } catch {
    return "The device certificate could not be parsed as X.509";
  }
  if (!facts.isP256) {
    return "The device certificate is not an ES256 X.509 certificate (P-256 key required)";
  }
  // The KeyObject is made on first use (a device JWT), not for each of thousands of rows.
  let key: KeyObject | undefined;
  const spki = facts.spki;
  return {
    key: () => {
      key ??= createPublicKey({ key: spki, format: "der", type: "spki" });
      return key;
    },
    fingerprint: facts.fingerprint,
  };
}

function readPublicKey(pem: string): KeyObject | string {
  try {
    // Decoded here, not by OpenSSL's PEM reader: that one refuses CR-only line breaks, which
    // the documented keyPem pattern allows (and the upload's validation accepted).
    const [der] = fromPemAll(pem, ["PUBLIC KEY"]);
    if (!der) throw new Error("no PUBLIC KEY PEM block");
    const key = createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" });
    if (key.asymmetricKeyDetails?.namedCurve === "prime256v1") return key;
    return "The public key is not an ES256 (P-256) key";
  } catch {
    return "The public key could not be parsed";
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function mergeInto(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete target[key];
    else if (isObject(value)) {
      const current = target[key];
      const next = isObject(current) ? current : {};
      mergeInto(next, value);
      target[key] = next;
    } else target[key] = value;
  }
}
