import { CsvError } from "../errors.js";
import {
  type CertificateRow,
  CSV_FIRMWARE_TYPES,
  checkCsvSubType,
  checkDeviceId,
  checkOnboardingPem,
  checkPem,
  MAX_CSV_ROWS,
  type OnboardingRow,
  type PublicKeyRow,
  rejectRow,
  TAG_PATTERN,
} from "./rules.js";

/** One request's validated CSV body and the device ID of each of its 0-based rows. */
export interface CsvBody {
  body: string;
  deviceIds: string[];
  /** Index in the caller's row list of this body's row 0. */
  firstRow: number;
}

/** The PEM column is always quoted, as nRF Cloud documents it. */
function quotePem(pem: string): string {
  return `"${pem.replaceAll('"', '""')}"`;
}

/** One `deviceId,"PEM"` row with its LF (RegisterCertificates, RegisterPublicKeys); unchecked. */
export function formatPemRow(deviceId: string, pem: string): string {
  return `${deviceId},${quotePem(pem)}\n`;
}

/**
 * Validates every row (numbered as the caller's list) before anything is built, then splits
 * the rows into bodies of at most 1000 (one per request). Device IDs must be unique overall.
 */
function buildBodies<T extends { deviceId: string }>(
  rows: readonly T[],
  formatRow: (row: T, fail: (field: string, reason: string) => never) => string,
): CsvBody[] {
  if (rows.length === 0) {
    throw new CsvError("The CSV has no rows; nRF Cloud needs at least one device.", {
      reason: "no rows",
    });
  }
  const firstRowOf = new Map<string, number>();
  const lines = rows.map((row, index) => {
    const fail = (field: string, reason: string): never => {
      throw rejectRow(index, row.deviceId, field, reason);
    };
    const idProblem = checkDeviceId(row.deviceId);
    if (idProblem) fail("deviceId", idProblem);
    const earlier = firstRowOf.get(row.deviceId);
    if (earlier !== undefined) fail("deviceId", `duplicates row ${earlier + 1}`);
    firstRowOf.set(row.deviceId, index);
    return formatRow(row, fail);
  });
  const lineChunks = chunkRows(lines);
  return chunkRows(rows).map((chunk, index) => ({
    body: (lineChunks[index] ?? []).join(""),
    deviceIds: chunk.map((row) => row.deviceId),
    firstRow: index * MAX_CSV_ROWS,
  }));
}

/** Splits rows into request-sized lists (nRF Cloud takes at most 1000 rows per bulk request). */
export function chunkRows<T>(rows: readonly T[], size = MAX_CSV_ROWS): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < rows.length; start += size) {
    chunks.push(rows.slice(start, start + size));
  }
  return chunks;
}

/** Validates OnboardDevices rows (`deviceId,subType,tags,fwTypes,"pem"`) and builds one body per ≤ 1000 rows. */
export function buildOnboardingCsv(rows: readonly OnboardingRow[]): CsvBody[] {
  return buildBodies(rows, (row, fail) => {
    const subType = row.subType ?? "";
    const subTypeProblem = checkCsvSubType(subType);
    if (subTypeProblem) fail("subType", subTypeProblem);
    const tags = row.tags ?? [];
    for (const tag of tags) {
      if (!TAG_PATTERN.test(tag)) fail("tags", `tag "${tag}" must match ${TAG_PATTERN}`);
    }
    const fwTypes = row.supportedFirmwareTypes ?? [];
    for (const type of fwTypes) {
      if (!(CSV_FIRMWARE_TYPES as readonly string[]).includes(type)) {
        fail("fwTypes", `"${type}" is not one of ${CSV_FIRMWARE_TYPES.join("|")}`);
      }
    }
    const pemProblem = checkOnboardingPem(row.certificate);
    if (pemProblem) fail("certPem", pemProblem);
    return `${row.deviceId},${subType},${tags.join("|")},${fwTypes.join("|")},${quotePem(row.certificate)}\n`;
  });
}

/** Validates RegisterCertificates rows (`deviceId,"certPem"`) and builds one body per ≤ 1000 rows. */
export function buildRegisterCertificatesCsv(rows: readonly CertificateRow[]): CsvBody[] {
  return buildBodies(rows, (row, fail) => {
    const problem = checkPem("CERTIFICATE")(row.certificate);
    if (problem) fail("certPem", problem);
    return formatPemRow(row.deviceId, row.certificate);
  });
}

/** Validates RegisterPublicKeys rows (`deviceId,"keyPem"`) and builds one body per ≤ 1000 rows. */
export function buildRegisterPublicKeysCsv(rows: readonly PublicKeyRow[]): CsvBody[] {
  return buildBodies(rows, (row, fail) => {
    const problem = checkPem("PUBLIC KEY")(row.publicKey);
    if (problem) fail("keyPem", problem);
    return formatPemRow(row.deviceId, row.publicKey);
  });
}
