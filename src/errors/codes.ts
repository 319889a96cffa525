// Type-only imports: each layer owns its union (next to its error class); this file only
// joins them. Nothing here exists at run time, so it adds no dependency between the layers.
import type { AtErrorCode } from "../at/errors.js";
import type { AttestErrorCode } from "../attest/errors.js";
import type { CaErrorCode } from "../ca/errors.js";
import type { CliErrorCode } from "../cli/errors.js";
import type { CloudLayerErrorCode } from "../cloud/errors.js";
import type { FileLockErrorCode } from "../file-lock/file-lock.js";
import type { FileErrorCode } from "../files/errors.js";
import type { JwtErrorCode } from "../jwt/errors.js";
import type { LineErrorCode } from "../line/errors.js";
import type { ModemErrorCode } from "../modem/errors.js";
import type { PipelineErrorCode } from "../pipeline/errors.js";
import type { ProvisioningErrorCode } from "../provisioning/errors.js";
import type { SerialErrorCode } from "../serial/errors.js";
import type { SimErrorCode } from "../sim/errors.js";
import type { StoreErrorCode } from "../store/errors.js";

/**
 * A thrown value that is no NrfProvisionError (a bug, or a failure no layer classified), as
 * summaries and `--json` output report it.
 */
export type UnexpectedErrorCode = "ERR_UNEXPECTED";

/** Every error code nrf-provision reports: the union of every layer's closed union. */
export type ErrorCode =
  | AtErrorCode
  | AttestErrorCode
  | CaErrorCode
  | CliErrorCode
  | CloudLayerErrorCode
  | FileErrorCode
  | FileLockErrorCode
  | JwtErrorCode
  | LineErrorCode
  | ModemErrorCode
  | PipelineErrorCode
  | ProvisioningErrorCode
  | SerialErrorCode
  | SimErrorCode
  | StoreErrorCode
  | UnexpectedErrorCode;
