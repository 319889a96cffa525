import type { AtClient } from "../at/index.js";
import { parseAttestationToken } from "../attest/index.js";
import { ModemError, type ModemErrorCode } from "./errors.js";

export interface FirmwareVersion {
  major: number;
  minor: number;
  patch: number;
}

export interface ModemIdentity {
  imei: string;
  model: string;
  /** Raw `AT+CGMR` answer, e.g. `mfw_nrf9160_1.3.5`. */
  firmware: string;
  /** The x.y.z in `firmware`, or null when it has none (or more than one). */
  firmwareVersion: FirmwareVersion | null;
  /** Device UUID from `AT%ATTESTTOKEN` (never `%XMODEMUUID`, which identifies the firmware build). */
  deviceUuid: string;
}

/** Oldest modem firmware whose `%KEYGEN` produces CSRs (nrfcloud-utils `MIN_REQD_MFW_VER`). */
export const MIN_KEYGEN_FIRMWARE: FirmwareVersion = { major: 1, minor: 3, patch: 0 };
/** Oldest modem firmware whose `%CMNG` list prints the SHA-256 of each credential. */
export const MIN_CREDENTIAL_HASH_FIRMWARE: FirmwareVersion = { major: 1, minor: 3, patch: 2 };

// Prefix-less answers: only lines of the expected shape belong to the command, so a URC or a
// log line arriving before `OK` is never taken for the IMEI, firmware or model.
const IMEI_LINE = /^\d{15}$/;
const FIRMWARE_LINE = /^(?:mfw\S*|\S*\d+\.\d+\.\d+\S*)$/i;
const MODEL_LINE = /^nRF[\w.-]+$/i;

/** Reads the IMEI (`AT+CGSN`): exactly 15 digits. */
export async function readImei(at: AtClient): Promise<string> {
  return readAnswerLine(at, "AT+CGSN", IMEI_LINE, {
    code: "ERR_MODEM_IMEI",
    missing: "a 15-digit IMEI",
    advice: " Check that the port is the modem's AT port.",
  });
}

/** Reads the modem firmware string (`AT+CGMR`), e.g. `mfw_nrf9160_1.3.5`. */
export async function readFirmware(at: AtClient): Promise<string> {
  return readAnswerLine(at, "AT+CGMR", FIRMWARE_LINE, {
    code: "ERR_MODEM_FIRMWARE_UNKNOWN",
    missing: "a firmware string",
  });
}

/** Reads the modem model (`AT+CGMM`), e.g. `nRF9160-SICA`. */
export async function readModel(at: AtClient): Promise<string> {
  return readAnswerLine(at, "AT+CGMM", MODEL_LINE, {
    code: "ERR_MODEM_MODEL",
    missing: "a model name",
  });
}

/** Sends a prefix-less query and returns its one answer line of the expected shape. */
async function readAnswerLine(
  at: AtClient,
  command: string,
  shape: RegExp,
  failure: { code: ModemErrorCode; missing: string; advice?: string },
): Promise<string> {
  const response = await at.send(command, { responseLine: shape });
  const answer = response.lines.find((line) => shape.test(line));
  if (answer === undefined) {
    throw new ModemError(
      failure.code,
      `the modem on ${at.portName} answered ${command} without ${failure.missing} (got ${JSON.stringify(response.lines)}).${failure.advice ?? ""}`,
      { details: { port: at.portName, lines: response.lines } },
    );
  }
  return answer;
}

/** Reads the device UUID from an attestation token (`AT%ATTESTTOKEN`). */
export async function readDeviceUuid(at: AtClient): Promise<string> {
  const response = await at.send("AT%ATTESTTOKEN", { responsePrefix: "%ATTESTTOKEN:" });
  const line = response.lines.find((candidate) => candidate.startsWith("%ATTESTTOKEN:"));
  if (line === undefined) {
    throw new ModemError(
      "ERR_MODEM_ATTESTTOKEN",
      `the modem on ${at.portName} answered AT%ATTESTTOKEN without a token. Modem firmware 1.3.0 or newer is needed.`,
      { details: { port: at.portName, lines: response.lines } },
    );
  }
  return parseAttestationToken(line).deviceUuid;
}

/** Reads IMEI, model, firmware and device UUID, in that order. */
export async function readIdentity(at: AtClient): Promise<ModemIdentity> {
  const imei = await readImei(at);
  const model = await readModel(at);
  const firmware = await readFirmware(at);
  const deviceUuid = await readDeviceUuid(at);
  return { imei, model, firmware, firmwareVersion: parseFirmwareVersion(firmware), deviceUuid };
}

/**
 * Extracts the single `x.y.z` delimited by `_`, `-` or the string edges
 * (`mfw_nrf9160_1.3.5` → 1.3.5). Null when there is none or more than one.
 */
export function parseFirmwareVersion(firmware: string): FirmwareVersion | null {
  const versions = firmware.split(/[_-]/).filter((part) => /^\d+\.\d+\.\d+$/.test(part));
  if (versions.length !== 1) return null;
  const [major, minor, patch] = versions[0]!.split(".").map(Number) as [number, number, number];
  return { major, minor, patch };
}

export function compareFirmwareVersions(a: FirmwareVersion, b: FirmwareVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

const formatVersion = (v: FirmwareVersion) => `${v.major}.${v.minor}.${v.patch}`;

/** NTN (satellite) firmware has its own numbering; nrfcloud-utils exempts it from the check. */
function isNtnFirmware(firmware: string): boolean {
  return /ntn/i.test(firmware);
}

/**
 * Throws unless `%KEYGEN` on this firmware yields a CSR (≥ 1.3.0). An unparseable version is
 * reported as such rather than guessed at.
 */
export function checkFirmwareSupportsKeygen(firmware: string): void {
  if (isNtnFirmware(firmware)) return;
  const version = parseFirmwareVersion(firmware);
  if (version === null) {
    throw new ModemError(
      "ERR_MODEM_FIRMWARE_UNKNOWN",
      `cannot tell whether modem firmware "${firmware}" supports AT%KEYGEN: no single x.y.z version in it. Key generation needs modem firmware ${formatVersion(MIN_KEYGEN_FIRMWARE)} or newer; check the version with nRF Connect (Cellular Monitor or Programmer).`,
      { details: { firmware } },
    );
  }
  if (compareFirmwareVersions(version, MIN_KEYGEN_FIRMWARE) < 0) {
    throw new ModemError(
      "ERR_MODEM_FIRMWARE_TOO_OLD",
      `modem firmware ${formatVersion(version)} ("${firmware}") is too old for AT%KEYGEN: flash modem firmware ${formatVersion(MIN_KEYGEN_FIRMWARE)} or newer (e.g. with nRF Connect Programmer) and try again.`,
      { details: { firmware, version, minimum: MIN_KEYGEN_FIRMWARE } },
    );
  }
}

/**
 * Whether `AT%CMNG=1` lists SHA-256 hashes on this firmware (≥ 1.3.2); null when the version
 * cannot be told (callers then compare a hash only if one is listed).
 */
export function firmwareListsCredentialHashes(firmware: string): boolean | null {
  const version = parseFirmwareVersion(firmware);
  if (version === null) return null;
  return compareFirmwareVersions(version, MIN_CREDENTIAL_HASH_FIRMWARE) >= 0;
}
