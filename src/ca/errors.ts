import { NrfProvisionError } from "../errors/index.js";

/**
 * Failures of the local certificate authority. Codes: `ERR_CA_*` (CA files, passphrase,
 * validity), `ERR_CSR_*` (a CSR refused before signing), `ERR_LEDGER_*` (issuance record).
 * All map to exit code 4.
 */
export class CaError extends NrfProvisionError {}
