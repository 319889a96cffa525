import { NrfProvisionError } from "../errors/index.js";

/**
 * Stable codes of the command line itself: a wrong command line or an unreadable input file
 * (exit code 2), a prompt interrupted by Ctrl-C (130).
 */
export type CliErrorCode = "ERR_USAGE" | "ERR_INPUT_FILE" | "ERR_INTERRUPTED";

/** The command line could not be used as given; nothing was done. */
export class CliError extends NrfProvisionError<CliErrorCode> {}
