import { NrfProvisionError } from "../errors/index.js";

/**
 * Stable codes of the Provisioning Service layer (claiming, provisioning commands, token files).
 * HTTP failures that are not specific to it stay the cloud layer's `ERR_CLOUD_*`.
 */
export type ProvisioningErrorCode =
  /** A device-scoped request was refused: the device is not claimed by this team (or the key lacks access). */
  | "ERR_PROVISIONING_NOT_CLAIMED"
  /** A provisioning command was still PENDING / IN_PROGRESS when the wait ran out. */
  | "ERR_PROVISIONING_WAIT_TIMEOUT"
  /** The service answered with a body this client cannot read. */
  | "ERR_PROVISIONING_RESPONSE"
  /** At least one device of a claim could not be claimed (per-row results in details). */
  | "ERR_PROVISIONING_CLAIM_FAILED"
  /** A token CSV (gather-tokens / claim --csv) that cannot be read as Nordic's format. */
  | "ERR_PROVISIONING_TOKEN_CSV"
  /** A modem that cannot be claimed by attestation token (nRF9160). */
  | "ERR_PROVISIONING_MODEL"
  /** An option of the client or a command out of range. */
  | "ERR_PROVISIONING_OPTIONS"
  /** provision-remote: the device could not be made to poll (no shell command, AT#PROVSTART refused). */
  | "ERR_PROVISIONING_TRIGGER"
  /** A provisioning command ended FAILED or CANCELLED on the device. */
  | "ERR_PROVISIONING_COMMAND_FAILED"
  /** The CSR a device returned is missing, from another device, or has another CN. */
  | "ERR_PROVISIONING_CSR_MISMATCH"
  /** After provisioning, the modem does not list the credentials that were sent. */
  | "ERR_PROVISIONING_VERIFY";

/** A Provisioning Service operation failed. Details never contain the API key or a JWT. */
export class ProvisioningError extends NrfProvisionError<ProvisioningErrorCode> {}
