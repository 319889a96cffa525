import { z } from "zod";
import { lenient, lenientStrings } from "../cloud/lenient.js";

// Runtime schemas of Provisioning Service answers; the types are inferred from them. The
// service is beta and its shapes have changed before (reference §1.5, §5.16): only the fields
// a client reads are required, everything else passes through.

/** A paged list answer: `{items, total?, pageNextToken?}`. */
const pageOf = <T extends z.ZodType>(item: T) =>
  z.looseObject({
    items: z.array(item),
    total: lenient(z.number()),
    pageNextToken: lenient(z.string()),
  });

/** The claimed-device object (reference §1.3): only `id` (the device UUID) is required. */
export const ClaimedDeviceSchema = z.looseObject({
  id: z.string(),
  ...lenientStrings("deviceType", "firmwareId", "imei", "ownerId", "ownershipStatus", "status"),
  tags: lenient(z.array(z.string())),
  claimedAt: lenient(z.string()),
});
export type ClaimedDevice = z.infer<typeof ClaimedDeviceSchema>;

/**
 * A bulk claim's answer. Two shapes are known (reference §1.2 #1b, #1c): the claimed IDs and
 * the failures at once, or an accepted bulk operation whose result is read elsewhere.
 */
export const BulkClaimAnswerSchema = z.union([
  z.looseObject({
    claimedIds: z.array(z.string()),
    failed: z.array(z.unknown()).optional().default([]),
  }),
  z.looseObject({ bulkOpsRequestId: z.string().min(1) }),
]);
export type BulkClaimAnswer = z.infer<typeof BulkClaimAnswerSchema>;

/** A provisioning command: `id` is required, `status` once it is read back. */
export const ProvisioningCommandSchema = z.looseObject({
  id: z.string().min(1),
  status: lenient(z.string()),
  description: lenient(z.string()),
  request: lenient(z.record(z.string(), z.unknown())),
  response: lenient(z.record(z.string(), z.unknown())),
  createdAt: lenient(z.string()),
  updatedAt: lenient(z.string()),
});
export type ProvisioningCommand = z.infer<typeof ProvisioningCommandSchema>;

export const ProvisioningCommandListSchema = pageOf(ProvisioningCommandSchema);
export type ProvisioningCommandList = z.infer<typeof ProvisioningCommandListSchema>;

export const ProvisioningRuleSchema = z.looseObject({
  id: lenient(z.string()),
  name: lenient(z.string()),
  description: lenient(z.string()),
  active: lenient(z.boolean()),
  tags: z.array(z.string()).catch([]),
  commands: lenient(z.array(z.looseObject({ request: z.record(z.string(), z.unknown()) }))),
});
export type ProvisioningRule = z.infer<typeof ProvisioningRuleSchema>;

export const ProvisioningRuleListSchema = pageOf(ProvisioningRuleSchema);
export type ProvisioningRuleList = z.infer<typeof ProvisioningRuleListSchema>;

/** `GET /provisioning/tags`: its answer is not shown by any source [I]; `items` as for rules. */
export const ProvisioningTagListSchema = z.looseObject({
  items: z.array(z.union([z.string(), z.looseObject({ tag: z.string() })])),
});
export type ProvisioningTagList = z.infer<typeof ProvisioningTagListSchema>;
