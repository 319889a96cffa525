import { NrfProvisionError } from "../errors/index.js";

/** Stable codes of the line's shared store. */
export type StoreErrorCode =
  | "ERR_STORE_URL"
  | "ERR_STORE_UNAVAILABLE"
  | "ERR_STORE_SCHEMA"
  | "ERR_STORE_QUERY"
  | "ERR_STORE_EVENT_CORRUPT"
  | "ERR_STORE_STATION_RUNNING"
  | "ERR_STORE_STATION_UNKNOWN"
  | "ERR_STORE_STATION_REVOKED"
  | "ERR_STORE_BOARD_CLAIMED";

/**
 * A failure of the line's shared store (PostgreSQL): unreachable, schema not current, a board
 * claimed by another station, a revoked station, a damaged event.
 */
export class StoreError extends NrfProvisionError<StoreErrorCode> {}
