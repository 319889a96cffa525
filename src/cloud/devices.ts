import { deviceIdProblem } from "../device-id/index.js";
import { type CloudContext, deviceOrAccountAuth, devicePath, responseError } from "./context.js";
import {
  JSON_FIRMWARE_TYPES,
  JSON_SUBTYPE_PATTERN,
  type OnboardingRow,
  onboardingPemProblem,
  TAG_PATTERN,
} from "./csv/index.js";
import { CsvError } from "./errors.js";
import type { HttpRequest } from "./http.js";
import type { Device } from "./schemas.js";

/**
 * OnboardDevice's input: the same fields as an OnboardDevices row (the certificate PEM, or an
 * ES256 public-key PEM sent in the same field), checked with the JSON body's rules.
 */
export type OnboardDeviceInput = OnboardingRow;

export interface FetchDeviceInput {
  deviceId: string;
  /** Device JWT; without it the API key is used. */
  jwt?: string | undefined;
}

export interface DeleteDeviceInput {
  deviceId: string;
  /** Only needed for onboarded, unassociated Nordic hardware. */
  ownershipCode?: string | undefined;
}

/** OnboardDevice: one device, JSON body (202); with a certificate or an ES256 public key. */
export async function onboardDevice(
  context: CloudContext,
  input: OnboardDeviceInput,
): Promise<void> {
  validateOnboardDeviceInput(input);
  const body: Record<string, unknown> = { certificate: input.certificate };
  if (input.subType !== undefined) body.subType = input.subType;
  if (input.tags !== undefined) body.tags = input.tags;
  if (input.supportedFirmwareTypes !== undefined)
    body.supportedFirmwareTypes = input.supportedFirmwareTypes;
  await context.send({
    method: "POST",
    url: context.url(`/devices/${devicePath(input.deviceId)}`),
    auth: context.apiKey,
    body: JSON.stringify(body),
    contentType: "application/json",
    expect: [202],
  });
}

/** FetchDevice (API key, or a device JWT). */
export async function fetchDevice(context: CloudContext, input: FetchDeviceInput): Promise<Device> {
  const request: HttpRequest = {
    method: "GET",
    url: context.url(`/devices/${devicePath(input.deviceId)}`),
    auth: deviceOrAccountAuth(context, input.jwt),
    expect: [200],
  };
  const fetched = await context.sendJson(request, "DeviceSchema");
  if (fetched.id !== input.deviceId) {
    throw responseError(
      request,
      `it describes device ${JSON.stringify(fetched.id.slice(0, 128))}, not ${input.deviceId}`,
      undefined,
    );
  }
  return fetched;
}

/** DeleteDevice; the ownership code is only needed for onboarded, unassociated Nordic hardware. */
export async function deleteDevice(context: CloudContext, input: DeleteDeviceInput): Promise<void> {
  await context.send({
    method: "DELETE",
    url: context.url(`/devices/${devicePath(input.deviceId)}`),
    auth: context.apiKey,
    body: input.ownershipCode || undefined,
    contentType: input.ownershipCode ? "text/plain" : undefined,
    expect: [202],
  });
}

/** OnboardDevice's JSON body: the CSV rules for ID and PEM, JSON rules for the rest. */
function validateOnboardDeviceInput(input: OnboardDeviceInput): void {
  const fail = (field: string, reason: string): never => {
    throw new CsvError(`Device "${input.deviceId}", field ${field}: ${reason}. Nothing was sent.`, {
      deviceId: input.deviceId,
      field,
      reason,
    });
  };
  // The CSV rules for the device ID and the PEM, then the JSON-only ones.
  const idProblem = deviceIdProblem(input.deviceId);
  if (idProblem) fail("deviceId", idProblem);
  const pemProblem = onboardingPemProblem(input.certificate);
  if (pemProblem) fail("certificate", pemProblem);
  if (input.subType !== undefined && !JSON_SUBTYPE_PATTERN.test(input.subType)) {
    fail("subType", `"${input.subType}" must match ${JSON_SUBTYPE_PATTERN}`);
  }
  for (const tag of input.tags ?? []) {
    if (!TAG_PATTERN.test(tag)) fail("tags", `tag "${tag}" must match ${TAG_PATTERN}`);
  }
  for (const type of input.supportedFirmwareTypes ?? []) {
    if (!(JSON_FIRMWARE_TYPES as readonly string[]).includes(type)) {
      fail("supportedFirmwareTypes", `"${type}" is not one of ${JSON_FIRMWARE_TYPES.join(", ")}`);
    }
  }
}
