import type { ErrorCode } from "../errors/index.js";

/**
 * Process exit codes. Stable: scripts and factory stations branch on them.
 * Documented in the README ("Exit codes").
 */
export const ExitCode = {
  /** Everything asked for succeeded. */
  OK: 0,
  /** A failure that fits no narrower class below. */
  FAILURE: 1,
  /** Bad command line: unknown flag, missing option, invalid value, unreadable input file. */
  USAGE: 2,
  /** The board or modem failed: port missing or unplugged, AT error, timeout, bad attestation. */
  DEVICE: 3,
  /** The certificate authority or a file failed: missing CA, wrong passphrase, CSR rejected, ledger, an output file refused or unwritable. */
  CA: 4,
  /** nRF Cloud failed: HTTP error, validation, authentication, bulk operation failed. */
  CLOUD: 5,
  /** A station run finished but at least one board failed (the others succeeded). */
  PARTIAL: 6,
  /** The line's shared store (PostgreSQL) failed: unreachable, schema not current, station refused. */
  STORE: 7,
  /** Interrupted by Ctrl-C / SIGTERM. */
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const { FAILURE, USAGE, DEVICE, CA, CLOUD, STORE, INTERRUPTED } = ExitCode;

/**
 * Every error code nrf-provision throws, and the exit code it ends the process with. One
 * entry per code, no prefixes. Keyed by the `ErrorCode` union, so a code added to a layer's
 * union does not compile until it is listed here (and a code listed that no union has does
 * not compile either); a test checks the same against the codes found in `src/`.
 */
export const exitCodeByErrorCode: Readonly<Record<ErrorCode, ExitCode>> = Object.freeze({
  // The command line itself (including its input files and the cloud settings).
  ERR_USAGE: USAGE,
  ERR_INTERRUPTED: INTERRUPTED, // Ctrl-C at the passphrase prompt
  ERR_INPUT_FILE: USAGE,
  ERR_IO_TOO_LARGE: USAGE, // an input file above the size cap
  ERR_CLOUD_CONFIG: USAGE, // no API key
  ERR_JWT_KEY_FILE: USAGE, // a key file that cannot be read, or would be overwritten
  ERR_PROVISIONING_TOKEN_CSV: USAGE, // a token CSV that is not Nordic's imei,uuid,token,time
  ERR_PROVISIONING_OPTIONS: USAGE,

  // The board: serial port, AT protocol, modem, attestation.
  ERR_PORT_NOT_FOUND: DEVICE,
  ERR_PORT_AMBIGUOUS: DEVICE,
  ERR_PORT_LIST: DEVICE,
  ERR_PORT_OPEN: DEVICE,
  ERR_TRANSPORT_CLOSED: DEVICE,
  ERR_TRANSPORT_DISCONNECTED: DEVICE,
  ERR_TRANSPORT_WRITE: DEVICE,
  ERR_AT_CME: DEVICE,
  ERR_AT_CMS: DEVICE,
  ERR_AT_COMMAND_INVALID: DEVICE,
  ERR_AT_COMMAND_TOO_LONG: DEVICE,
  ERR_AT_DISCONNECTED: DEVICE,
  ERR_AT_ERROR: DEVICE,
  ERR_AT_FRAMING: DEVICE,
  ERR_AT_NO_RESPONDER: DEVICE,
  ERR_AT_TIMEOUT: DEVICE,
  ERR_MODEM_SHELL_LF_UNESCAPE: DEVICE, // the shell firmware would alter a multi-line write
  ERR_KEYGEN_UNATTESTED: DEVICE, // a %KEYGEN body without its attestation
  ERR_MODEM_ATTESTTOKEN: DEVICE,
  ERR_MODEM_ATTRIBUTES: DEVICE,
  ERR_MODEM_CFUN_MODE: DEVICE,
  ERR_MODEM_CFUN_RESTORE: DEVICE,
  ERR_MODEM_CREDENTIAL_CONTENT: DEVICE,
  ERR_MODEM_CREDENTIAL_TOO_LONG: DEVICE,
  ERR_MODEM_CREDENTIAL_TYPE: DEVICE,
  ERR_MODEM_CREDENTIAL_VERIFY: DEVICE,
  ERR_MODEM_FIRMWARE_TOO_OLD: DEVICE,
  ERR_MODEM_FIRMWARE_UNKNOWN: DEVICE,
  ERR_MODEM_IMEI: DEVICE,
  ERR_MODEM_JWT_OPTIONS: DEVICE,
  ERR_MODEM_MODEL: DEVICE,
  ERR_PROVISIONING_MODEL: DEVICE, // gather-tokens: an nRF9160, or no attestation token
  ERR_PROVISIONING_TRIGGER: DEVICE, // provision-remote: the device could not be made to poll
  ERR_PROVISIONING_COMMAND_FAILED: DEVICE, // a provisioning command failed on the device
  ERR_PROVISIONING_CSR_MISMATCH: DEVICE, // the returned CSR: missing, another device, another CN
  ERR_PROVISIONING_VERIFY: DEVICE, // the modem does not list what was provisioned
  ERR_MODEM_SEC_TAG: DEVICE,
  ERR_MODEM_TIME_UNKNOWN: DEVICE,
  ERR_MODEM_UNEXPECTED_RESPONSE: DEVICE,
  ERR_KEYGEN_DIGEST: DEVICE,
  ERR_KEYGEN_DIGEST_NORMALIZED: DEVICE,
  ERR_KEYGEN_MALFORMED: DEVICE,
  ERR_KEYGEN_SECTAG: DEVICE,
  ERR_ATTEST_KEY_INVALID: DEVICE,
  ERR_ATTEST_MALFORMED: DEVICE,
  // The pipeline's own checks, and failures of its steps that no lower layer classified.
  ERR_PROVISION_SEC_TAG_IN_USE: DEVICE,
  ERR_PROVISION_DEVICE_ID_MISMATCH: DEVICE,
  ERR_PROVISION_VERIFY: DEVICE, // a credential's hash differs after the write
  ERR_PROVISION_STEP_FAILED: DEVICE, // a board step failed with nothing lower classifying it

  // The local certificate authority, the CSRs it refuses, its ledger.
  ERR_CA_EXISTS: CA,
  ERR_CA_EXPIRED: CA,
  ERR_CA_INVALID: CA,
  ERR_CA_INVALID_SUBJECT: CA,
  ERR_CA_INVALID_VALIDITY: CA,
  ERR_CA_KEY_MISMATCH: CA,
  ERR_CA_NOT_FOUND: CA,
  ERR_CA_NOT_A_ROOT: CA, // ca delegate from a station CA (pathLen 0) or a non-CA certificate
  ERR_CA_PASSPHRASE: CA,
  ERR_CA_PASSPHRASE_MISMATCH: CA,
  ERR_CA_PASSPHRASE_REQUIRED: CA,
  ERR_CSR_DEVICE_ID: CA,
  ERR_CSR_DEVICE_ID_MISMATCH: CA,
  ERR_CSR_KEY_TYPE: CA,
  ERR_CSR_MALFORMED: CA,
  ERR_CSR_SIGNATURE: CA,
  ERR_LEDGER_DUPLICATE_SERIAL: CA,
  ERR_LEDGER_LOCKED: CA,
  ERR_LEDGER_WRITE: CA,
  ERR_CA_KEY_CORRUPT: CA,
  ERR_CA_UNREADABLE: CA,
  ERR_LEDGER_CORRUPT: CA,
  ERR_LEDGER_MISSING: CA,
  ERR_LEDGER_NOT_A_FILE: CA,
  ERR_LEDGER_UNWRITABLE: CA,
  ERR_PROVISION_ISSUE: CA,
  ERR_PROVISION_NOT_IN_LEDGER: CA, // a station device whose certificate the ledger lacks

  // Files the tool writes or reads beside the CA (src/files): with the CA's exit code, since
  // they are the same kind of local state (refused overwrite, full or read-only disk).
  ERR_IO_EXISTS: CA,
  ERR_IO_SYMLINK: CA,
  ERR_IO_PROTECTED: CA,
  ERR_IO_NOT_A_DIRECTORY: CA,
  ERR_IO_READ: CA,
  ERR_IO_WRITE: CA,
  ERR_IO_FILE_SYSTEM: CA,

  // nRF Cloud: requests, bulk operations, the CSV files it takes.
  ERR_CLOUD_HTTP: CLOUD,
  ERR_CLOUD_AUTH: CLOUD,
  ERR_CLOUD_CONFLICT: CLOUD,
  ERR_CLOUD_TIMEOUT: CLOUD,
  ERR_CLOUD_NETWORK: CLOUD,
  ERR_CLOUD_RESPONSE: CLOUD,
  ERR_CLOUD_UNEXPECTED: CLOUD,
  ERR_BULK_FAILED: CLOUD,
  ERR_BULK_TIMEOUT: CLOUD,
  ERR_CSV_INVALID: CLOUD,
  ERR_PROVISION_ONBOARD: CLOUD,
  ERR_PROVISION_CSV_DUPLICATE: CLOUD,
  ERR_PROVISION_NOT_ONBOARDED: CLOUD, // nRF Cloud never confirmed the certificate
  ERR_BULK_WAIT_ABORTED: INTERRUPTED, // the wait was stopped; the job goes on
  // nRF Cloud's Provisioning Service (claim, provisioning commands).
  ERR_PROVISIONING_NOT_CLAIMED: CLOUD,
  ERR_PROVISIONING_WAIT_TIMEOUT: CLOUD,
  ERR_PROVISIONING_RESPONSE: CLOUD,
  ERR_PROVISIONING_CLAIM_FAILED: CLOUD, // claim: at least one row was not claimed

  // Everything else: device JWTs, the station's journal, locks, the simulators, bugs.
  ERR_JWT_MALFORMED: FAILURE,
  ERR_JWT_ALG: FAILURE,
  ERR_JWT_SIGNATURE: FAILURE,
  ERR_JWT_EXPIRED: FAILURE,
  ERR_JWT_SUBJECT: FAILURE,
  ERR_JWT_CLAIMS: FAILURE,
  ERR_JWT_LIFETIME: FAILURE,
  ERR_JWT_DEVICE_ID: FAILURE,
  ERR_JWT_KEY: FAILURE,
  ERR_JWT_BATCH: FAILURE,
  ERR_JWT_OPTIONS: FAILURE,
  ERR_PROVISION_JOURNAL: FAILURE,
  // The line's shared store (PostgreSQL, `--store`).
  ERR_STORE_URL: USAGE,
  ERR_STORE_UNAVAILABLE: STORE,
  ERR_STORE_SCHEMA: STORE,
  ERR_STORE_QUERY: STORE,
  ERR_STORE_EVENT_CORRUPT: STORE,
  ERR_STORE_STATION_RUNNING: STORE,
  ERR_STORE_STATION_UNKNOWN: STORE,
  ERR_STORE_STATION_REVOKED: STORE,
  ERR_STORE_BOARD_CLAIMED: STORE,
  ERR_PROVISION_JOURNAL_CORRUPT: FAILURE,
  ERR_PROVISION_JOURNAL_IN_USE: FAILURE,
  ERR_PROVISION_UNFINISHED: FAILURE, // a station device never verified on its modem
  ERR_PROVISION_CSV_LOCKED: FAILURE,
  ERR_FILE_LOCKED: FAILURE,
  ERR_SIM_PTY: FAILURE,
  ERR_UNEXPECTED: FAILURE,

  // The line dashboard (src/line): refused before it listens.
  ERR_LINE_DASHBOARD_TOKEN_REQUIRED: USAGE, // --host off loopback without --token
  ERR_LINE_DASHBOARD_LISTEN: FAILURE, // the port is taken or the address is not this machine's
} satisfies Record<ErrorCode, ExitCode>);

/** The process exit code for an error code (`ERR_AT_TIMEOUT` → 3); 1 for a code not listed. */
export function exitCodeForErrorCode(code: string): ExitCode {
  return isErrorCode(code) ? exitCodeByErrorCode[code] : FAILURE;
}

/** True when `code` is one nrf-provision reports (a journal or an older version may hold others). */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(exitCodeByErrorCode, code);
}
