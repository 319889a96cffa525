import { deviceIdProblem } from "../../device-id/index.js";
import { CsvError } from "../errors.js";

/** nRF Cloud refuses bulk uploads with more rows than this (OPENAPI). */
export const MAX_CSV_ROWS = 1000;

// Patterns from the nRF Cloud OpenAPI text (reference §4). The device ID is capped at 64
// because firmware cannot use longer client IDs (src/device-id); subType is anchored (the
// spec's is not) and has no comma in CSV, because whether the server accepts a quoted subType
// is unconfirmed.
export const CSV_SUBTYPE_PATTERN = /^[a-zA-Z0-9_.@/:#-]{0,799}$/;
export const JSON_SUBTYPE_PATTERN = /^[a-zA-Z0-9_.,@/:#-]{0,799}$/;
export const TAG_PATTERN = /^[a-zA-Z0-9_.@:#-]+$/;
export const CSV_FIRMWARE_TYPES = [
  "APP",
  "MODEM",
  "BOOT",
  "SOFTDEVICE",
  "BOOTLOADER",
  "MDM_FULL",
] as const;
export const JSON_FIRMWARE_TYPES = [...CSV_FIRMWARE_TYPES, "SMP", "CUSTOM"] as const;
export const CERTIFICATE_PEM_PATTERN =
  /^-{5}BEGIN CERTIFICATE-{5}(\r\n|\r|\n)([^-]+)(\r\n|\r|\n)-{5}END CERTIFICATE-{5}(\r\n|\r|\n)$/;
export const PUBLIC_KEY_PEM_PATTERN =
  /^-{5}BEGIN PUBLIC KEY-{5}(\r\n|\r|\n)([^-]+)(\r\n|\r|\n)-{5}END PUBLIC KEY-{5}(\r\n|\r|\n)$/;

/**
 * Firmware types a board's onboarding row declares unless told otherwise: FOTA of the
 * application and the modem needs them, and Nordic's nrfcloud-utils writes `APP|MODEM` too.
 */
export const DEFAULT_FIRMWARE_TYPES: readonly CsvFirmwareType[] = ["APP", "MODEM"];

export type CsvFirmwareType = (typeof CSV_FIRMWARE_TYPES)[number];
export type FirmwareType = (typeof JSON_FIRMWARE_TYPES)[number];

/**
 * One device of an OnboardDevices upload. `certificate` is the API's `certPem` column, which
 * takes either onboarding modality: a device certificate (the device may use MQTT, CoAP and
 * REST) or an ES256 public key (device JWTs over REST only).
 */
export interface OnboardingRow {
  deviceId: string;
  certificate: string;
  subType?: string | undefined;
  tags?: readonly string[] | undefined;
  supportedFirmwareTypes?: readonly string[] | undefined;
}
export interface CertificateRow {
  deviceId: string;
  certificate: string;
}
export interface PublicKeyRow {
  deviceId: string;
  publicKey: string;
}

export type FieldCheck = (value: string) => string | null;

export function rejectRow(row: number, deviceId: string, field: string, reason: string): CsvError {
  return new CsvError(
    `CSV row ${row + 1} (device "${deviceId}"), field ${field}: ${reason}. Fix the row; nothing was uploaded.`,
    { row, deviceId, field, reason },
  );
}

export const checkDeviceId: FieldCheck = (id) => {
  const problem = deviceIdProblem(id);
  return problem === null ? null : `${JSON.stringify(id)} is not valid: ${problem}`;
};

export const checkCsvSubType: FieldCheck = (subType) => {
  if (subType.includes(",")) return "contains a comma, which CSV uploads cannot carry";
  return CSV_SUBTYPE_PATTERN.test(subType)
    ? null
    : `"${subType}" must match ${CSV_SUBTYPE_PATTERN}`;
};

export function checkPem(kind: "CERTIFICATE" | "PUBLIC KEY"): FieldCheck {
  const pattern = kind === "CERTIFICATE" ? CERTIFICATE_PEM_PATTERN : PUBLIC_KEY_PEM_PATTERN;
  return (pem) => {
    if (pattern.test(pem)) return null;
    if (!/(\r\n|\r|\n)$/.test(pem)) return `${kind} PEM must end with a line break`;
    if ((pem.match(/-----BEGIN /g) ?? []).length > 1)
      return `exactly one ${kind} PEM block is allowed`;
    return `not a single ${kind} PEM block matching ${pattern}`;
  };
}

/** OnboardDevices' PEM column: a certificate, or a public key (the second modality). */
export const checkOnboardingPem: FieldCheck = (pem) =>
  checkPem(onboardingModality(pem) === "public-key" ? "PUBLIC KEY" : "CERTIFICATE")(pem);

/** The onboarding modality an OnboardDevice(s) PEM stands for (whether or not it is valid). */
export function onboardingModality(pem: string): "certificate" | "public-key" {
  return pem.includes("-----BEGIN PUBLIC KEY-----") ? "public-key" : "certificate";
}

/** Why `pem` cannot onboard a device (certificate or ES256 public key), or null. */
export function onboardingPemProblem(pem: string): string | null {
  return checkOnboardingPem(pem);
}
