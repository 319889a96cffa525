import { type CloudContext, devicePath } from "./context.js";
import type { DeviceCertificate } from "./schemas.js";

export interface AssociateDeviceInput {
  deviceId: string;
  ownershipCode: string;
  subType?: string | undefined;
}

export interface CreateDeviceCertificateInput {
  deviceId: string;
  ownershipCode: string;
}

/** AssociateDevice: adds a Nordic device to the account with its ownership code (202). */
export async function associateDevice(
  context: CloudContext,
  input: AssociateDeviceInput,
): Promise<void> {
  await context.send({
    method: "PUT",
    url: context.url(`/association/${devicePath(input.deviceId)}`, { subType: input.subType }),
    auth: context.apiKey,
    body: input.ownershipCode,
    contentType: "text/plain",
    expect: [202],
  });
}

/** CreateDeviceCertificate (deprecated upstream: use onboardDevice with your own CA). */
export async function createDeviceCertificate(
  context: CloudContext,
  input: CreateDeviceCertificateInput,
): Promise<DeviceCertificate> {
  context.warn(
    `CreateDeviceCertificate is deprecated by nRF Cloud (JITP with Nordic's CA); prefer onboarding with your own CA (cloud onboard).`,
  );
  return context.sendJson(
    {
      method: "POST",
      url: context.url(`/devices/${devicePath(input.deviceId)}/certificates`),
      auth: context.apiKey,
      body: input.ownershipCode,
      contentType: "text/plain",
      expect: [201],
    },
    "DeviceCertificateSchema",
  );
}

/** DissociateDevice (deprecated upstream: use deleteDevice). */
export async function dissociateDevice(
  context: CloudContext,
  input: { deviceId: string },
): Promise<void> {
  context.warn(
    `DissociateDevice is deprecated by nRF Cloud; use DeleteDevice (cloud device delete).`,
  );
  await context.send({
    method: "DELETE",
    url: context.url(`/association/${devicePath(input.deviceId)}`),
    auth: context.apiKey,
    expect: [202],
  });
}
