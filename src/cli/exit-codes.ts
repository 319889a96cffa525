/**
 * Process exit codes. Stable: scripts and factory stations branch on them.
 * Documented in the README ("Exit codes").
 */
export const ExitCode = {
  /** Everything asked for succeeded. */
  OK: 0,
  /** A failure that fits no narrower class below. */
  FAILURE: 1,
  /** Bad command line: unknown flag, missing option, invalid value. */
  USAGE: 2,
  /** The board or modem failed: port missing or unplugged, AT error, timeout, bad attestation. */
  DEVICE: 3,
  /** The certificate authority or a file failed: missing CA, wrong passphrase, CSR rejected, ledger, an output file refused or unwritable. */
  CA: 4,
  /** nRF Cloud failed: HTTP error, validation, authentication, bulk operation failed. */
  CLOUD: 5,
  /** A station run finished but at least one board failed (the others succeeded). */
  PARTIAL: 6,
  /** Interrupted by Ctrl-C / SIGTERM. */
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const prefixToExitCode: ReadonlyArray<[string, ExitCode]> = [
  ["ERR_USAGE", ExitCode.USAGE],
  ["ERR_TRANSPORT", ExitCode.DEVICE],
  ["ERR_PORT", ExitCode.DEVICE],
  ["ERR_SERIAL", ExitCode.DEVICE],
  ["ERR_AT", ExitCode.DEVICE],
  ["ERR_MODEM", ExitCode.DEVICE],
  ["ERR_KEYGEN", ExitCode.DEVICE],
  ["ERR_ATTEST", ExitCode.DEVICE],
  ["ERR_CA", ExitCode.CA],
  ["ERR_CSR", ExitCode.CA],
  ["ERR_LEDGER", ExitCode.CA],
  // A file the tool reads or writes (src/files): refused overwrite, full disk, read-only …
  ["ERR_IO", ExitCode.CA],
  ["ERR_CLOUD", ExitCode.CLOUD],
  ["ERR_BULK", ExitCode.CLOUD],
  ["ERR_CSV", ExitCode.CLOUD],
];

/** Maps an error code (`ERR_AT_TIMEOUT` …) to the process exit code. */
export function exitCodeForErrorCode(code: string): ExitCode {
  for (const [prefix, exit] of prefixToExitCode) {
    if (code.startsWith(prefix)) return exit;
  }
  return ExitCode.FAILURE;
}
