import { NrfProvisionError } from "../errors/index.js";

/**
 * A failure of the line's shared store (PostgreSQL): unreachable, schema not current, a board
 * claimed by another station, a revoked station, a damaged event. Codes are ERR_STORE_*.
 */
export class StoreError extends NrfProvisionError {}
