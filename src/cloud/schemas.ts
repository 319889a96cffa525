import { z } from "zod";
import { DEVICE_ID_API_PATTERN } from "../device-id/index.js";
import { lenient, lenientStrings } from "./lenient.js";

// Runtime schemas of nRF Cloud responses; the types are inferred from them so a response is
// only typed once it has been validated.

export const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export const BulkOpsAcceptedSchema = z.object({
  bulkOpsRequestId: z.string().regex(ULID_PATTERN),
});
export type BulkOpsAccepted = z.infer<typeof BulkOpsAcceptedSchema>;

export const BulkOpsStatusSchema = z.enum(["PENDING", "IN_PROGRESS", "SUCCEEDED", "FAILED"]);
export type BulkOpsStatus = z.infer<typeof BulkOpsStatusSchema>;

export const BulkOpsRequestDetailsSchema = z.looseObject({
  bulkOpsRequestId: z.string().regex(ULID_PATTERN),
  // Older jobs report PROVISION_DEVICES; accept any endpoint name.
  endpoint: z.string(),
  status: BulkOpsStatusSchema,
  requestedAt: z.string(),
  completedAt: z.string().optional(),
  uploadedDataUrl: z.string().optional(),
  resultDataUrl: z.string().optional(),
  errorSummaryUrl: z.string().optional(),
});
export type BulkOpsRequestDetails = z.infer<typeof BulkOpsRequestDetailsSchema>;

export const BulkOpsRequestListSchema = z.looseObject({
  items: z.array(BulkOpsRequestDetailsSchema),
  total: z.number().optional(),
  pageNextToken: z.string().optional(),
});
export type BulkOpsRequestList = z.infer<typeof BulkOpsRequestListSchema>;

export const DeviceCertificateSchema = z.looseObject({
  clientId: z.string().regex(DEVICE_ID_API_PATTERN),
  caCert: z.string(),
  clientCert: z.string(),
  privateKey: z.string().optional(),
});
export type DeviceCertificate = z.infer<typeof DeviceCertificateSchema>;

const jsonObject = z.record(z.string(), z.unknown());

/** FetchDevice's GenericDevice, validated leniently: only `id` is required (reference §2). */
export const DeviceSchema = z.looseObject({
  id: z.string(),
  ...lenientStrings("name", "type", "subType", "tenantId"),
  tags: lenient(z.array(z.string())),
  cloudMqttEnabled: lenient(z.boolean()),
  firmware: lenient(z.looseObject({ supports: lenient(z.array(z.string())) })),
  $meta: lenient(
    z.looseObject({
      createdAt: lenient(z.string()),
      updatedAt: lenient(z.string()),
      version: lenient(z.number()),
    }),
  ),
  state: lenient(
    z.looseObject({
      reported: lenient(jsonObject),
      desired: lenient(jsonObject),
      version: lenient(z.number()),
    }),
  ),
});
export type Device = z.infer<typeof DeviceSchema>;
