import { NrfProvisionError } from "../errors/index.js";

/** Stable codes of the line's shared views (the dashboard). */
export type LineErrorCode = "ERR_LINE_DASHBOARD_TOKEN_REQUIRED" | "ERR_LINE_DASHBOARD_LISTEN";

/**
 * Failures of the line's shared views (the dashboard). A dashboard that would be reachable from
 * the network without a token is refused before it listens.
 */
export class LineError extends NrfProvisionError<LineErrorCode> {}
