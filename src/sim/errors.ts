import { NrfProvisionError } from "../errors/index.js";

/** Stable codes of the simulators: a bad option (exit code 2), no pseudo-terminal (1). */
export type SimErrorCode = "ERR_SIM_PTY" | "ERR_USAGE";

/** A simulator could not start: an invalid option, or `socat` could not make its PTY pair. */
export class SimError extends NrfProvisionError<SimErrorCode> {}
