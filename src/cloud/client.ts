import {
  type AssociateDeviceInput,
  associateDevice,
  type CreateDeviceCertificateInput,
  createDeviceCertificate,
  dissociateDevice,
} from "./association.js";
import {
  type BulkOpsResult,
  type BulkUploadResult,
  getBulkOpsRequest,
  type ListBulkOpsOptions,
  listBulkOpsRequests,
  type WaitForBulkOpsOptions,
  waitForBulkOps,
  waitForBulkUpload,
} from "./bulk-ops.js";
import { type BulkUpload, type BulkUploadChunk, onboardDevices } from "./bulk-upload.js";
import { registerCertificates } from "./certificates.js";
import { type CloudClientOptions, type CloudContext, createCloudContext } from "./context.js";
import type { CertificateRow, OnboardingRow, PublicKeyRow } from "./csv/index.js";
import {
  type DeleteDeviceInput,
  deleteDevice,
  type FetchDeviceInput,
  fetchDevice,
  type OnboardDeviceInput,
  onboardDevice,
} from "./devices.js";
import { registerPublicKeys } from "./public-keys.js";
import type {
  BulkOpsRequestDetails,
  BulkOpsRequestList,
  Device,
  DeviceCertificate,
} from "./schemas.js";
import { type UpdateDeviceStateInput, updateDeviceState } from "./state.js";

/** The nRF Cloud REST client: one function per endpoint. */
export interface CloudClient {
  /** The base URL in use, without a trailing slash. */
  readonly baseUrl: string;
  associateDevice(association: AssociateDeviceInput): Promise<void>;
  createDeviceCertificate(request: CreateDeviceCertificateInput): Promise<DeviceCertificate>;
  dissociateDevice(device: { deviceId: string }): Promise<void>;
  onboardDevice(device: OnboardDeviceInput): Promise<void>;
  onboardDevices(rows: readonly OnboardingRow[]): Promise<BulkUpload>;
  registerCertificates(rows: readonly CertificateRow[]): Promise<BulkUpload>;
  registerPublicKeys(rows: readonly PublicKeyRow[]): Promise<BulkUpload>;
  updateDeviceState(update: UpdateDeviceStateInput): Promise<void>;
  fetchDevice(device: FetchDeviceInput): Promise<Device>;
  deleteDevice(device: DeleteDeviceInput): Promise<void>;
  getBulkOpsRequest(bulkOpsRequestId: string): Promise<BulkOpsRequestDetails>;
  listBulkOpsRequests(query?: ListBulkOpsOptions): Promise<BulkOpsRequestList>;
  /** Polls one job; with a chunk (not a bare ID) failures carry device IDs. */
  waitForBulkOps(
    job: string | BulkUploadChunk,
    options?: WaitForBulkOpsOptions,
  ): Promise<BulkOpsResult>;
  /** Waits for every request of an upload (concurrently) and merges the failures. */
  waitForBulkUpload(upload: BulkUpload, options?: WaitForBulkOpsOptions): Promise<BulkUploadResult>;
}

/** An endpoint function: the shared request context first, then the endpoint's own arguments. */
type Endpoint = (context: CloudContext, ...args: never[]) => unknown;

/** Each endpoint with the context already given: the same function without its first parameter. */
type BoundEndpoints<E extends Record<string, Endpoint>> = {
  [Name in keyof E]: E[Name] extends (context: CloudContext, ...args: infer Args) => infer Result
    ? (...args: Args) => Result
    : never;
};

function bindContext<E extends Record<string, Endpoint>>(
  context: CloudContext,
  endpoints: E,
): BoundEndpoints<E> {
  const bound = Object.entries(endpoints).map(([name, endpoint]) => [
    name,
    (...args: never[]) => endpoint(context, ...args),
  ]);
  return Object.fromEntries(bound) as BoundEndpoints<E>;
}

/**
 * A typed nRF Cloud REST client: one function per endpoint (each in its own module over a
 * shared request context), responses validated at runtime.
 */
export function createCloudClient(options: CloudClientOptions = {}): CloudClient {
  const context = createCloudContext(options);
  return {
    baseUrl: context.baseUrl,
    ...bindContext(context, {
      associateDevice,
      createDeviceCertificate,
      dissociateDevice,
      onboardDevice,
      onboardDevices,
      registerCertificates,
      registerPublicKeys,
      updateDeviceState,
      fetchDevice,
      deleteDevice,
      getBulkOpsRequest,
      listBulkOpsRequests,
      waitForBulkOps,
      waitForBulkUpload,
    }),
  };
}
