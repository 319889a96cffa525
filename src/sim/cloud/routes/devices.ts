import { authorizeDevice, checkOwnershipCode, requireApiKey } from "../auth.js";
import { issueKeyPair } from "../certificates.js";
import { parseJsonBody, type Route, SimHttpError } from "../http.js";
import type { SimDevice } from "../registry.js";
import type { SimCloudStore } from "../store.js";
import {
  isCertificatePem,
  isPublicKeyPem,
  isValidDeviceId,
  isValidSubType,
  isValidTag,
} from "../validate.js";

/** AssociateDevice and DissociateDevice (the legacy Nordic-hardware flow). */
export function associationRoutes(store: SimCloudStore): Route[] {
  return [
    [
      "PUT",
      /^\/v1\/association\/([^/]+)$/,
      (request, [id = ""], body, url) => {
        requireApiKey(store, request);
        checkOwnershipCode(store, id, body.trim());
        const subType = url.searchParams.get("subType") ?? undefined;
        if (subType !== undefined && !isValidSubType(subType)) {
          throw new SimHttpError(422, 42200, "Validation failed: field subType");
        }
        store.registry.associate(id, subType);
        return { status: 202 };
      },
    ],
    ["DELETE", /^\/v1\/association\/([^/]+)$/, deleteDevice(store, 40413)],
  ];
}

/** CreateDeviceCertificate, OnboardDevice, FetchDevice, DeleteDevice. */
export function deviceRoutes(store: SimCloudStore): Route[] {
  return [
    [
      "POST",
      /^\/v1\/devices\/([^/]+)\/certificates$/,
      async (request, [id = ""], body) => {
        requireApiKey(store, request);
        return { status: 201, json: await createDeviceCertificate(store, id, body.trim()) };
      },
    ],
    [
      "POST",
      /^\/v1\/devices\/([^/]+)$/,
      (request, [id = ""], body) => {
        requireApiKey(store, request);
        const row = onboardingArgs(id, parseJsonBody(body));
        const problem = store.registry.onboard(row);
        if (problem?.conflict) throw new SimHttpError(409, 40900, problem.message);
        if (problem) throw new SimHttpError(400, 40000, problem.message);
        return { status: 202 };
      },
    ],
    [
      "GET",
      /^\/v1\/devices\/([^/]+)$/,
      async (request, [id = ""]) => {
        await authorizeDevice(store, request, id);
        const device = store.registry.devices.get(id);
        if (!device) throw new SimHttpError(404, 40410, `Device ${id} not found`);
        return { status: 200, json: describeDevice(device, store.tenantId) };
      },
    ],
    ["DELETE", /^\/v1\/devices\/([^/]+)$/, deleteDevice(store, 40414)],
  ];
}

/** DissociateDevice and DeleteDevice: the same removal, each with its own not-found code. */
function deleteDevice(store: SimCloudStore, notFoundCode: number): Route[2] {
  return (request, [id = ""]) => {
    requireApiKey(store, request);
    if (!store.registry.delete(id)) {
      throw new SimHttpError(404, notFoundCode, `No device found for ID ${id}`);
    }
    return { status: 202 };
  };
}

/** A JITP key and certificate from the simulator's CA (ownership code checked for nrf-…). */
async function createDeviceCertificate(store: SimCloudStore, id: string, ownershipCode: string) {
  if (!isValidDeviceId(id)) throw new SimHttpError(422, 42200, "Validation failed: field deviceId");
  if (id.startsWith("nrf-")) checkOwnershipCode(store, id, ownershipCode);
  else if (ownershipCode === "")
    throw new SimHttpError(400, 40102, "An ownership code is required");
  const ca = await store.jitpCa();
  const issued = issueKeyPair(ca, id);
  return {
    clientId: id,
    caCert: ca.certificatePem,
    clientCert: issued.certificatePem,
    privateKey: issued.privateKeyPem,
  };
}

/**
 * OnboardSingleDeviceArgs, validated like the CSV columns (JSON allows SMP/CUSTOM and commas in
 * subType). `certificate` holds a certificate or an ES256 public key, as the CSV column does.
 */
function onboardingArgs(deviceId: string, input: unknown) {
  const fail = (field: string): never => {
    throw new SimHttpError(422, 42200, `Validation failed: field ${field}`);
  };
  if (!isValidDeviceId(deviceId)) fail("deviceId");
  if (typeof input !== "object" || input === null) return fail("body");
  const args = input as Record<string, unknown>;
  // Both onboarding modalities travel in `certificate`: a device certificate or a public key.
  const pem = args.certificate;
  if (typeof pem !== "string" || !(isCertificatePem(pem) || isPublicKeyPem(pem)))
    fail("certificate");
  const subType = args.subType ?? "";
  if (typeof subType !== "string" || !isValidSubType(subType)) fail("subType");
  const tags = args.tags ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === "string" && isValidTag(t)))
    fail("tags");
  const types = args.supportedFirmwareTypes ?? [];
  const allowed = ["APP", "MODEM", "BOOT", "SOFTDEVICE", "BOOTLOADER", "MDM_FULL", "SMP", "CUSTOM"];
  if (!Array.isArray(types) || !types.every((t) => allowed.includes(t)))
    fail("supportedFirmwareTypes");
  return {
    deviceId,
    subType: subType as string,
    tags: tags as string[],
    firmwareTypes: types as string[],
    pem: args.certificate as string,
  };
}

function describeDevice(device: SimDevice, tenantId: string) {
  return {
    id: device.id,
    name: device.id,
    type: device.type,
    subType: device.subType,
    tenantId,
    tags: device.tags,
    cloudMqttEnabled: device.onboardingPem?.includes("CERTIFICATE") ?? false,
    firmware: { supports: device.firmwareTypes },
    $meta: {
      createdAt: device.createdAt,
      updatedAt: device.updatedAt,
      version: device.shadow.version,
    },
    state: {
      reported: device.shadow.reported,
      desired: device.shadow.desired,
      version: device.shadow.version,
    },
  };
}
