import { NrfProvisionError } from "../errors/index.js";

/**
 * Failures of the line's shared views (the dashboard). Codes: `ERR_LINE_*`. A dashboard that
 * would be reachable from the network without a token is refused before it listens.
 */
export class LineError extends NrfProvisionError {}
