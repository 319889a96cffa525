import { parseCsvRecords } from "../../cloud/index.js";

// The server side of the CSV rules (reference §4), written from the documented patterns and
// independent of the client's builder, so the property tests compare two implementations.
// The device ID is capped at 128 here (the API's limit); the client caps it at 64.

const DEVICE_ID = /^[a-z0-9:_-]{1,128}$/i;
const SUBTYPE = /^[a-zA-Z0-9_.,@/:#-]{0,799}$/;
const TAG = /^[a-zA-Z0-9_.@:#-]+$/;
const FW_TYPE = /^(APP|MODEM|BOOT|SOFTDEVICE|BOOTLOADER|MDM_FULL)$/;
const CERT_PEM =
  /^-{5}BEGIN CERTIFICATE-{5}(\r\n|\r|\n)([^-]+)(\r\n|\r|\n)-{5}END CERTIFICATE-{5}(\r\n|\r|\n)$/;
const KEY_PEM =
  /^-{5}BEGIN PUBLIC KEY-{5}(\r\n|\r|\n)([^-]+)(\r\n|\r|\n)-{5}END PUBLIC KEY-{5}(\r\n|\r|\n)$/;

export type BulkEndpoint = "ONBOARD_DEVICES" | "REGISTER_CERTIFICATES" | "REGISTER_PUBLIC_KEYS";

export interface UploadedRow {
  deviceId: string;
  subType: string;
  tags: string[];
  firmwareTypes: string[];
  pem: string;
}

/** Thrown for a 422: names the row (0-based) and the field. */
export class CsvValidationError extends Error {}

const fail = (row: number, field: string, reason: string): never => {
  throw new CsvValidationError(`Validation failed: row ${row}, field ${field}: ${reason}`);
};

/** Parses and validates a bulk upload the way nRF Cloud documents it; throws CsvValidationError. */
export function validateUpload(endpoint: BulkEndpoint, body: string): UploadedRow[] {
  let records: ReturnType<typeof parseCsvRecords>;
  try {
    records = parseCsvRecords(body);
  } catch (error) {
    throw new CsvValidationError(`Validation failed: ${(error as Error).message}`);
  }
  if (records.length === 0) throw new CsvValidationError("Validation failed: the CSV has no rows");
  if (records.length > 1000) {
    throw new CsvValidationError(`Validation failed: ${records.length} rows (max 1000)`);
  }
  return records.map(({ row, fields }) => {
    if (fields.length === 1 && fields[0] === "") return fail(row, "row", "blank line");
    const columns = endpoint === "ONBOARD_DEVICES" ? 5 : 2;
    if (fields.length !== columns) {
      return fail(row, "row", `${fields.length} columns, expected ${columns}`);
    }
    const [deviceId = "", ...rest] = fields;
    if (!DEVICE_ID.test(deviceId)) fail(row, "deviceId", `must match ${DEVICE_ID}`);
    const pem = rest[rest.length - 1] ?? "";
    if (endpoint !== "ONBOARD_DEVICES") {
      const pattern = endpoint === "REGISTER_PUBLIC_KEYS" ? KEY_PEM : CERT_PEM;
      const field = endpoint === "REGISTER_PUBLIC_KEYS" ? "keyPem" : "certPem";
      if (!pattern.test(pem)) fail(row, field, `must match ${pattern}`);
      return { deviceId, subType: "", tags: [], firmwareTypes: [], pem };
    }
    const [subType = "", tagText = "", fwText = ""] = rest;
    if (!SUBTYPE.test(subType)) fail(row, "subType", `must match ${SUBTYPE}`);
    const tags = tagText === "" ? [] : tagText.split("|");
    for (const tag of tags) if (!TAG.test(tag)) fail(row, "tags", `tag "${tag}" must match ${TAG}`);
    const firmwareTypes = fwText === "" ? [] : fwText.split("|");
    for (const type of firmwareTypes) {
      if (!FW_TYPE.test(type)) fail(row, "fwTypes", `"${type}" must match ${FW_TYPE}`);
    }
    if (!CERT_PEM.test(pem) && !KEY_PEM.test(pem))
      fail(row, "certPem", "must be a certificate or public key PEM");
    return { deviceId, subType, tags, firmwareTypes, pem };
  });
}

export const isValidDeviceId = (id: string) => DEVICE_ID.test(id);
export const isValidSubType = (subType: string) => SUBTYPE.test(subType);
export const isValidTag = (tag: string) => TAG.test(tag);
export const isCertificatePem = (pem: string) => CERT_PEM.test(pem);
export const isPublicKeyPem = (pem: string) => KEY_PEM.test(pem);
