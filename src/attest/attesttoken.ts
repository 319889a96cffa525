import type { KeyObject } from "node:crypto";
import {
  decodeSelfDescribedMessage,
  encodeSelfDescribedArray,
  expectBytes,
  expectInteger,
  parseCoseSign1,
  verifyCoseSign1,
} from "./cose.js";
import { decodeBase64Url, extractBlob, formatUuid, splitTwoParts, toHex } from "./encoding.js";
import { AttestError } from "./errors.js";
import type { KeygenOutput } from "./keygen.js";

/** `%ATTESTTOKEN` message type 1: device identity message v1. */
const deviceIdentityMessageV1 = 1;

/** A parsed `%ATTESTTOKEN` response. */
export interface AttestationToken {
  deviceUuid: string;
  deviceType: number;
  deviceTypeName: string;
  modemFirmwareUuid: string;
  /** Lowercase hex. */
  nonce: string;
  messageType: number;
  /** The detached COSE payload: the CBOR message exactly as received. */
  message: Uint8Array;
  /** Raw COSE_Sign1 bytes (payload nil). */
  cose: Uint8Array;
}

/** The fields of an `%ATTESTTOKEN` message. */
export interface AttestationMessageFields {
  deviceUuid: Uint8Array;
  deviceType: number;
  modemFirmwareUuid: Uint8Array;
  nonce: Uint8Array;
}

/**
 * Attestation device types (nrf91-at.md §6). Type 3 is "nRF9160 SICA" as in the SDK's
 * `modem_attest_token`; nrfcloud-utils' table labels it "NRF9160 SIAA", which would give two
 * types one name (1 is SIAA). This table is the one place the names live: the parser and the
 * simulator both use it.
 */
export const DEVICE_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: "nRF9160 SIAA",
  2: "nRF9160 SIBA",
  3: "nRF9160 SICA",
  4: "nRF9161 LACA",
  5: "nRF9131 LACA",
  6: "nRF9151 LACA",
};

/** The chip name for an attestation device type. */
export function deviceTypeName(deviceType: number): string {
  return DEVICE_TYPE_NAMES[deviceType] ?? `unknown (${deviceType})`;
}

/** The device type of a model string (`nRF9160-SICA` → 3), 0 when unknown. */
export function deviceTypeOfModel(model: string): number {
  const wanted = model.replace(/[-_]/g, " ").toUpperCase();
  for (const [type, name] of Object.entries(DEVICE_TYPE_NAMES)) {
    if (name.toUpperCase() === wanted) return Number(type);
  }
  return 0;
}

const code = "ERR_ATTEST_MALFORMED";
/** The items of an `%ATTESTTOKEN` message, as errors name them. */
const MESSAGE_FIELDS = ["type", "uuid", "device type", "firmware UUID", "nonce"];

/** Encodes an `%ATTESTTOKEN` message: tag 55799 [1, uuid, device type, firmware UUID, nonce]. */
export function buildAttestationPayload(fields: AttestationMessageFields): Uint8Array {
  return encodeSelfDescribedArray([
    deviceIdentityMessageV1,
    fields.deviceUuid,
    fields.deviceType,
    fields.modemFirmwareUuid,
    fields.nonce,
  ]);
}

/**
 * Parses `AT%ATTESTTOKEN` output (bare `<base64url message>.<base64url COSE_Sign1>` or the
 * `%ATTESTTOKEN: "…"` line). Throws AttestError `ERR_ATTEST_MALFORMED` naming the bad part.
 */
export function parseAttestationToken(text: string): AttestationToken {
  const blob = extractBlob(text, "ATTESTTOKEN", code);
  const [messagePart, cosePart] = splitTwoParts(
    blob,
    ["base64url message", "base64url COSE_Sign1"],
    code,
  );
  const message = decodeBase64Url(messagePart, "the attestation message (first part)", code);
  const cose = decodeBase64Url(cosePart, "the COSE_Sign1 (second part)", code);
  const sign1 = parseCoseSign1(cose, code);
  if (sign1.payload !== null) {
    throw new AttestError(
      code,
      "the COSE_Sign1 payload should be detached (nil) in an attestation token",
    );
  }
  return { ...decodeMessage(message), message, cose };
}

/** An attestation message without its COSE signature: its fields, and nothing attested. */
export type UnattestedAttestationMessage = Omit<AttestationToken, "cose"> & { attestation: null };

/** True when the pasted `%ATTESTTOKEN` output is the message alone, without `.<COSE_Sign1>`. */
export function isBareAttestationMessage(text: string): boolean {
  return !extractBlob(text, "ATTESTTOKEN", code).includes(".");
}

/**
 * Parses the message part of `%ATTESTTOKEN` output alone, as Nordic's parser accepts. Nothing
 * signs it: `attestation` is null.
 */
export function parseAttestationMessage(text: string): UnattestedAttestationMessage {
  const blob = extractBlob(text, "ATTESTTOKEN", code);
  if (blob.includes(".")) {
    throw new AttestError(code, "this AT%ATTESTTOKEN output has a COSE part: parse it as a token");
  }
  const message = decodeBase64Url(blob, "the attestation message", code);
  return { ...decodeMessage(message), message, attestation: null };
}

function decodeMessage(message: Uint8Array): Omit<AttestationToken, "message" | "cose"> {
  const what = "attestation message";
  const { type, items } = decodeSelfDescribedMessage(message, MESSAGE_FIELDS, what, code);
  const [uuid, deviceType, firmwareUuid, nonce] = items;
  if (type !== deviceIdentityMessageV1) {
    throw new AttestError(code, `${what} type ${type} is not 1 (device identity message v1)`);
  }
  const device = expectInteger(deviceType, `${what} device type`, code);
  return {
    deviceUuid: formatUuid(expectBytes(uuid, `${what} device UUID`, code, 16)),
    deviceType: device,
    deviceTypeName: deviceTypeName(device),
    modemFirmwareUuid: formatUuid(
      expectBytes(firmwareUuid, `${what} modem firmware UUID`, code, 16),
    ),
    nonce: toHex(expectBytes(nonce, `${what} nonce`, code, 16)),
    messageType: type,
  };
}

/**
 * Verifies the ES256 COSE_Sign1 signature of keygen output or an attestation token against the
 * device identity public key (Nordic's is not published; the simulator's is). For a token the
 * detached message is the signed payload.
 */
export function verifyAttestation(
  parsed: KeygenOutput | AttestationToken,
  identityPublicKey: KeyObject | string,
): boolean {
  const isKeygen = "kind" in parsed;
  const sign1 = parseCoseSign1(parsed.cose, isKeygen ? "ERR_KEYGEN_MALFORMED" : code);
  return verifyCoseSign1(sign1, identityPublicKey, isKeygen ? undefined : parsed.message);
}
