// nRF Cloud's Provisioning Service, owner side: claim devices by attestation token (one, or in
// bulk), provisioning commands, rules and tags; the token CSV of the factory line.
export {
  type BulkClaimChunk,
  type BulkClaimResult,
  type BulkClaimRow,
  type BulkClaimRowResult,
  type BulkClaimRowStatus,
  bulkClaimCsv,
  type ClaimCheck,
  MAX_BULK_CLAIM_ROWS,
} from "./claims.js";
export {
  createProvisioningClient,
  DEFAULT_PROVISIONING_BASE_URL,
  type NewRule,
  type ProvisioningClient,
  type ProvisioningClientOptions,
} from "./client.js";
export {
  DEFAULT_KEY_USAGE,
  keygenResponseText,
  type ProvisioningCommandRequest,
  type SecTagRequest,
} from "./commands.js";
export { ProvisioningError, type ProvisioningErrorCode } from "./errors.js";
export {
  type GatherEvent,
  type GatheredToken,
  type GatherSummary,
  gatherToken,
  gatherTokens,
  writeTokenRow,
} from "./gather.js";
export type { ClaimedDevice, ProvisioningCommand } from "./schemas.js";
export {
  formatTokenRow,
  type ParsedTokenRow,
  parseTokenCsv,
  pythonIsoTime,
  splitCsvRecords,
  type TokenRow,
  type TokenRowAction,
  upsertTokenRow,
} from "./token-csv.js";
export { isCommandPending, type WaitForCommandOptions } from "./wait.js";
