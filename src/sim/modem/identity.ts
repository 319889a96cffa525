import {
  createECDH,
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { DEVICE_TYPE_NAMES, deviceTypeOfModel } from "../../attest/index.js";

/**
 * Where a simulated board's identity comes from: fresh randomness, or a seed so that the same
 * seed always gives the same IMEI, device UUID and identity key (reproducible stations, demos).
 */
export type IdentitySource = (label: string, length: number) => Uint8Array;

export function identitySource(seed: string | undefined): IdentitySource {
  if (seed === undefined) return (_label, length) => randomBytes(length);
  return (label, length) => {
    const bytes: Buffer[] = [];
    for (let counter = 0; bytes.length * 32 < length; counter++) {
      bytes.push(
        createHash("sha256").update(`nrf-provision-sim:${seed}:${label}:${counter}`).digest(),
      );
    }
    return Buffer.concat(bytes).subarray(0, length);
  };
}

/** Luhn check digit of a digit string (the IMEI's 15th digit). */
export function luhnCheckDigit(digits: string): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    // Double every second digit counting from the right of the full number (check digit excluded).
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) digit *= 2;
    sum += digit > 9 ? digit - 9 : digit;
  }
  return (10 - (sum % 10)) % 10;
}

export function isValidImei(imei: string): boolean {
  return /^\d{15}$/.test(imei) && luhnCheckDigit(imei.slice(0, 14)) === Number(imei[14]);
}

/** A 15-digit IMEI with a valid check digit, with the `35` reporting-body prefix of real boards. */
export function generateImei(source: IdentitySource): string {
  const body = Array.from(source("imei", 12), (byte) => String(byte % 10)).join("");
  const digits = `35${body}`;
  return `${digits}${luhnCheckDigit(digits)}`;
}

/** A version-4-shaped UUID (lowercase 8-4-4-4-12). */
export function generateUuid(source: IdentitySource, label: string): string {
  const bytes = Buffer.from(source(label, 16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/**
 * A device UUID shaped like those of real nRF91 modems: the first six bytes are ASCII
 * (`P`, three letters or digits, two digits: `50363154-3931-…` reads "P61T91"), then random
 * bytes with the version-4 nibble and a variant byte of 0x80 (`…-44f0-8022-…`).
 */
export function generateDeviceUuid(source: IdentitySource): string {
  const random = Buffer.from(source("device-uuid", 16));
  const at = (index: number) => random[index] ?? 0;
  const ascii = [
    "P",
    ...[1, 2, 3].map((index) => ALPHANUMERIC[at(index) % ALPHANUMERIC.length]),
    ...[4, 5].map((index) => String(at(index) % 10)),
  ].join("");
  const bytes = Buffer.concat([Buffer.from(ascii, "ascii"), random.subarray(6)]);
  bytes[6] = (at(6) & 0x0f) | 0x40;
  bytes[8] = 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The simulated SIM: an IMSI (MCC 901, MNC 28, as the iBasis SIMs shipped with DKs) and an ICCID. */
export function generateSim(source: IdentitySource): { imsi: string; iccid: string } {
  const digits = (label: string, count: number) =>
    Array.from(source(label, count), (byte) => String(byte % 10)).join("");
  const iccidBody = `8988228066${digits("iccid", 8)}`;
  return {
    imsi: `90128${digits("imsi", 10)}`,
    iccid: `${iccidBody}${luhnCheckDigit(iccidBody)}F`,
  };
}

/** P-256 group order: a private scalar must lie in [1, n-1]. */
const p256Order = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");

/** The simulated device identity key: random, or derived from the seed. */
export function generateIdentityKey(seed: string | undefined): KeyObject {
  if (seed === undefined) return generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const source = identitySource(seed);
  for (let attempt = 0; ; attempt++) {
    const scalar = Buffer.from(source(`identity-key-${attempt}`, 32));
    const value = BigInt(`0x${scalar.toString("hex")}`);
    if (value === 0n || value >= p256Order) continue;
    const ecdh = createECDH("prime256v1");
    ecdh.setPrivateKey(scalar);
    const point = ecdh.getPublicKey();
    return createPrivateKey({
      format: "jwk",
      key: {
        kty: "EC",
        crv: "P-256",
        d: scalar.toString("base64url"),
        x: point.subarray(1, 33).toString("base64url"),
        y: point.subarray(33, 65).toString("base64url"),
      },
    });
  }
}

/** A stable UUID per modem firmware string (the sim's `%XMODEMUUID` / attestation firmware UUID). */
export function firmwareUuid(firmware: string): string {
  return generateUuid(identitySource(`firmware:${firmware}`), "firmware");
}

/**
 * Attestation device type from the model (`nRF9160-SICA` → 3), by the attestation parser's
 * table; a model the table lacks gets its chip family's latest variant (nRF9160 → SICA).
 */
export function deviceTypeForModel(model: string): number {
  const exact = deviceTypeOfModel(model);
  if (exact !== 0) return exact;
  const family = /^nRF\d{4}/i.exec(model)?.[0]?.toUpperCase();
  const byFamily = Object.entries(DEVICE_TYPE_NAMES).filter(([, name]) =>
    name.toUpperCase().startsWith(`${family} `),
  );
  return Number(byFamily.at(-1)?.[0] ?? 0);
}

/** `%HWVERSION` text for a model: `nRF9160-SICA` → `nRF9160 SICA B1A`. */
export function hardwareVersionForModel(model: string): string {
  return `${model.replace("-", " ")} B1A`;
}
