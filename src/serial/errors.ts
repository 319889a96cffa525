import { NrfProvisionError } from "../errors/index.js";

/** Stable codes of the serial layer (exit code 3). */
export type SerialErrorCode =
  | "ERR_PORT_AMBIGUOUS"
  | "ERR_PORT_LIST"
  | "ERR_PORT_NOT_FOUND"
  | "ERR_PORT_OPEN"
  | "ERR_TRANSPORT_CLOSED"
  | "ERR_TRANSPORT_DISCONNECTED"
  | "ERR_TRANSPORT_WRITE";

/**
 * A serial port could not be found, listed or opened, or its byte stream broke (closed,
 * unplugged, a write the OS refused). `details` name the port.
 */
export class SerialError extends NrfProvisionError<SerialErrorCode> {}
