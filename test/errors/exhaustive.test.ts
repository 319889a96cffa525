import { describe, expect, expectTypeOf, it } from "vitest";
import { AtError, type AtErrorCode } from "../../src/at/index.js";
import { AttestError, type AttestErrorCode } from "../../src/attest/index.js";
import { CaError, type CaErrorCode } from "../../src/ca/index.js";
import { CliError, type CliErrorCode } from "../../src/cli/errors.js";
import { ExitCode, exitCodeByErrorCode, exitCodeForErrorCode } from "../../src/cli/exit-codes.js";
import {
  BulkOpsError,
  CloudError,
  type CloudLayerErrorCode,
  CsvError,
} from "../../src/cloud/index.js";
import type { UnexpectedErrorCode } from "../../src/errors/codes.js";
import { type ErrorCode, isNrfProvisionError, NrfProvisionError } from "../../src/errors/index.js";
import { type FileLockErrorCode, FileLockedError } from "../../src/file-lock/index.js";
import { FileError, type FileErrorCode } from "../../src/files/index.js";
import { JwtError, type JwtErrorCode } from "../../src/jwt/index.js";
import { LineError, type LineErrorCode } from "../../src/line/errors.js";
import { ModemError, type ModemErrorCode } from "../../src/modem/index.js";
import { PipelineError, type PipelineErrorCode } from "../../src/pipeline/index.js";
import { ProvisioningError, type ProvisioningErrorCode } from "../../src/provisioning/errors.js";
import { SerialError, type SerialErrorCode } from "../../src/serial/index.js";
import { SimError, type SimErrorCode } from "../../src/sim/index.js";
import { StoreError, type StoreErrorCode } from "../../src/store/errors.js";

// The error contract, checked by the compiler (`npm run typecheck` covers test/) and by vitest:
// every layer exports a closed union of its codes, and its error class carries exactly that
// union, so `switch (error.code)` over a layer's errors is exhaustive. Each `…Exit` function
// below switches over one layer's codes and ends in `default: return unreachable(error.code)`,
// which compiles only while every code of the union has a case: add a code to a layer's union
// and this file stops compiling until the code is handled here (as it stops compiling in
// `src/cli/exit-codes.ts`, whose table is keyed by `ErrorCode`). `atExitWithNewCode` shows that
// failure once, held down by `@ts-expect-error` so the suite stays green. Each `…Codes` list is
// checked to equal its union with `expectTypeOf`, and the tests run every code through its
// switch against the exit-code table, so the exit codes scripts rely on are pinned twice.

const { FAILURE, USAGE, DEVICE, CA, CLOUD, STORE, INTERRUPTED } = ExitCode;

/** Compiles only when every case was handled: `code` has been narrowed to `never`. */
function unreachable(code: never): never {
  throw new Error(`unhandled error code ${String(code)}`);
}

const atCodes = [
  "ERR_AT_CME",
  "ERR_AT_CMS",
  "ERR_AT_COMMAND_INVALID",
  "ERR_AT_COMMAND_TOO_LONG",
  "ERR_AT_DISCONNECTED",
  "ERR_AT_ERROR",
  "ERR_AT_FRAMING",
  "ERR_AT_NO_RESPONDER",
  "ERR_AT_TIMEOUT",
] as const;
expectTypeOf<(typeof atCodes)[number]>().toEqualTypeOf<AtErrorCode>();

function atExit(error: AtError): ExitCode {
  switch (error.code) {
    case "ERR_AT_CME":
    case "ERR_AT_CMS":
    case "ERR_AT_COMMAND_INVALID":
    case "ERR_AT_COMMAND_TOO_LONG":
    case "ERR_AT_DISCONNECTED":
    case "ERR_AT_ERROR":
    case "ERR_AT_FRAMING":
    case "ERR_AT_NO_RESPONDER":
    case "ERR_AT_TIMEOUT":
      return DEVICE;
    default:
      return unreachable(error.code);
  }
}

const attestCodes = [
  "ERR_KEYGEN_MALFORMED",
  "ERR_KEYGEN_UNATTESTED",
  "ERR_KEYGEN_DIGEST",
  "ERR_KEYGEN_DIGEST_NORMALIZED",
  "ERR_KEYGEN_SECTAG",
  "ERR_CSR_SIGNATURE",
  "ERR_ATTEST_MALFORMED",
  "ERR_ATTEST_KEY_INVALID",
] as const;
expectTypeOf<(typeof attestCodes)[number]>().toEqualTypeOf<AttestErrorCode>();

function attestExit(error: AttestError): ExitCode {
  switch (error.code) {
    case "ERR_KEYGEN_MALFORMED":
    case "ERR_KEYGEN_UNATTESTED":
    case "ERR_KEYGEN_DIGEST":
    case "ERR_KEYGEN_DIGEST_NORMALIZED":
    case "ERR_KEYGEN_SECTAG":
    case "ERR_ATTEST_MALFORMED":
    case "ERR_ATTEST_KEY_INVALID":
      return DEVICE;
    case "ERR_CSR_SIGNATURE":
      return CA;
    default:
      return unreachable(error.code);
  }
}

const caCodes = [
  "ERR_CA_EXISTS",
  "ERR_CA_EXPIRED",
  "ERR_CA_INVALID",
  "ERR_CA_INVALID_SUBJECT",
  "ERR_CA_INVALID_VALIDITY",
  "ERR_CA_KEY_CORRUPT",
  "ERR_CA_KEY_MISMATCH",
  "ERR_CA_NOT_A_ROOT",
  "ERR_CA_NOT_FOUND",
  "ERR_CA_PASSPHRASE",
  "ERR_CA_PASSPHRASE_MISMATCH",
  "ERR_CA_PASSPHRASE_REQUIRED",
  "ERR_CA_UNREADABLE",
  "ERR_CSR_DEVICE_ID",
  "ERR_CSR_DEVICE_ID_MISMATCH",
  "ERR_CSR_KEY_TYPE",
  "ERR_CSR_MALFORMED",
  "ERR_CSR_SIGNATURE",
  "ERR_LEDGER_CORRUPT",
  "ERR_LEDGER_DUPLICATE_SERIAL",
  "ERR_LEDGER_LOCKED",
  "ERR_LEDGER_MISSING",
  "ERR_LEDGER_NOT_A_FILE",
  "ERR_LEDGER_UNWRITABLE",
  "ERR_LEDGER_WRITE",
] as const;
expectTypeOf<(typeof caCodes)[number]>().toEqualTypeOf<CaErrorCode>();

function caExit(error: CaError): ExitCode {
  switch (error.code) {
    case "ERR_CA_EXISTS":
    case "ERR_CA_EXPIRED":
    case "ERR_CA_INVALID":
    case "ERR_CA_INVALID_SUBJECT":
    case "ERR_CA_INVALID_VALIDITY":
    case "ERR_CA_KEY_CORRUPT":
    case "ERR_CA_KEY_MISMATCH":
    case "ERR_CA_NOT_A_ROOT":
    case "ERR_CA_NOT_FOUND":
    case "ERR_CA_PASSPHRASE":
    case "ERR_CA_PASSPHRASE_MISMATCH":
    case "ERR_CA_PASSPHRASE_REQUIRED":
    case "ERR_CA_UNREADABLE":
    case "ERR_CSR_DEVICE_ID":
    case "ERR_CSR_DEVICE_ID_MISMATCH":
    case "ERR_CSR_KEY_TYPE":
    case "ERR_CSR_MALFORMED":
    case "ERR_CSR_SIGNATURE":
    case "ERR_LEDGER_CORRUPT":
    case "ERR_LEDGER_DUPLICATE_SERIAL":
    case "ERR_LEDGER_LOCKED":
    case "ERR_LEDGER_MISSING":
    case "ERR_LEDGER_NOT_A_FILE":
    case "ERR_LEDGER_UNWRITABLE":
    case "ERR_LEDGER_WRITE":
      return CA;
    default:
      return unreachable(error.code);
  }
}

const cliCodes = ["ERR_USAGE", "ERR_INPUT_FILE", "ERR_INTERRUPTED"] as const;
expectTypeOf<(typeof cliCodes)[number]>().toEqualTypeOf<CliErrorCode>();

function cliExit(error: CliError): ExitCode {
  switch (error.code) {
    case "ERR_USAGE":
    case "ERR_INPUT_FILE":
      return USAGE;
    case "ERR_INTERRUPTED":
      return INTERRUPTED;
    default:
      return unreachable(error.code);
  }
}

const cloudCodes = [
  "ERR_CLOUD_HTTP",
  "ERR_CLOUD_AUTH",
  "ERR_CLOUD_CONFLICT",
  "ERR_CLOUD_TIMEOUT",
  "ERR_CLOUD_NETWORK",
  "ERR_CLOUD_RESPONSE",
  "ERR_CLOUD_CONFIG",
  "ERR_BULK_FAILED",
  "ERR_BULK_TIMEOUT",
  "ERR_BULK_WAIT_ABORTED",
  "ERR_CSV_INVALID",
] as const;
expectTypeOf<(typeof cloudCodes)[number]>().toEqualTypeOf<CloudLayerErrorCode>();

function cloudExit(error: CloudError | BulkOpsError | CsvError): ExitCode {
  switch (error.code) {
    case "ERR_CLOUD_HTTP":
    case "ERR_CLOUD_AUTH":
    case "ERR_CLOUD_CONFLICT":
    case "ERR_CLOUD_TIMEOUT":
    case "ERR_CLOUD_NETWORK":
    case "ERR_CLOUD_RESPONSE":
    case "ERR_BULK_FAILED":
    case "ERR_BULK_TIMEOUT":
    case "ERR_CSV_INVALID":
      return CLOUD;
    case "ERR_CLOUD_CONFIG":
      return USAGE;
    case "ERR_BULK_WAIT_ABORTED":
      return INTERRUPTED;
    default:
      // Three classes: the switch narrows `error` itself, to `never` once every code is handled.
      return unreachable(error);
  }
}

const filesCodes = [
  "ERR_IO_EXISTS",
  "ERR_IO_FILE_SYSTEM",
  "ERR_IO_NOT_A_DIRECTORY",
  "ERR_IO_PROTECTED",
  "ERR_IO_READ",
  "ERR_IO_SYMLINK",
  "ERR_IO_TOO_LARGE",
  "ERR_IO_WRITE",
] as const;
expectTypeOf<(typeof filesCodes)[number]>().toEqualTypeOf<FileErrorCode>();

function filesExit(error: FileError): ExitCode {
  switch (error.code) {
    case "ERR_IO_EXISTS":
    case "ERR_IO_FILE_SYSTEM":
    case "ERR_IO_NOT_A_DIRECTORY":
    case "ERR_IO_PROTECTED":
    case "ERR_IO_READ":
    case "ERR_IO_SYMLINK":
    case "ERR_IO_WRITE":
      return CA;
    case "ERR_IO_TOO_LARGE":
      return USAGE;
    default:
      return unreachable(error.code);
  }
}

const fileLockCodes = ["ERR_FILE_LOCKED"] as const;
expectTypeOf<(typeof fileLockCodes)[number]>().toEqualTypeOf<FileLockErrorCode>();

function fileLockExit(error: FileLockedError): ExitCode {
  switch (error.code) {
    case "ERR_FILE_LOCKED":
      return FAILURE;
    default:
      return unreachable(error.code);
  }
}

const jwtCodes = [
  "ERR_JWT_MALFORMED",
  "ERR_JWT_ALG",
  "ERR_JWT_SIGNATURE",
  "ERR_JWT_EXPIRED",
  "ERR_JWT_SUBJECT",
  "ERR_JWT_CLAIMS",
  "ERR_JWT_LIFETIME",
  "ERR_JWT_DEVICE_ID",
  "ERR_JWT_KEY",
  "ERR_JWT_KEY_FILE",
  "ERR_JWT_BATCH",
  "ERR_JWT_OPTIONS",
] as const;
expectTypeOf<(typeof jwtCodes)[number]>().toEqualTypeOf<JwtErrorCode>();

function jwtExit(error: JwtError): ExitCode {
  switch (error.code) {
    case "ERR_JWT_MALFORMED":
    case "ERR_JWT_ALG":
    case "ERR_JWT_SIGNATURE":
    case "ERR_JWT_EXPIRED":
    case "ERR_JWT_SUBJECT":
    case "ERR_JWT_CLAIMS":
    case "ERR_JWT_LIFETIME":
    case "ERR_JWT_DEVICE_ID":
    case "ERR_JWT_KEY":
    case "ERR_JWT_BATCH":
    case "ERR_JWT_OPTIONS":
      return FAILURE;
    case "ERR_JWT_KEY_FILE":
      return USAGE;
    default:
      return unreachable(error.code);
  }
}

const modemCodes = [
  "ERR_MODEM_ATTESTTOKEN",
  "ERR_MODEM_ATTRIBUTES",
  "ERR_MODEM_CFUN_MODE",
  "ERR_MODEM_CFUN_RESTORE",
  "ERR_MODEM_CREDENTIAL_CONTENT",
  "ERR_MODEM_CREDENTIAL_TOO_LONG",
  "ERR_MODEM_CREDENTIAL_TYPE",
  "ERR_MODEM_CREDENTIAL_VERIFY",
  "ERR_MODEM_FIRMWARE_TOO_OLD",
  "ERR_MODEM_FIRMWARE_UNKNOWN",
  "ERR_MODEM_IMEI",
  "ERR_MODEM_JWT_OPTIONS",
  "ERR_MODEM_MODEL",
  "ERR_MODEM_SEC_TAG",
  "ERR_MODEM_SHELL_LF_UNESCAPE",
  "ERR_MODEM_TIME_UNKNOWN",
  "ERR_MODEM_UNEXPECTED_RESPONSE",
] as const;
expectTypeOf<(typeof modemCodes)[number]>().toEqualTypeOf<ModemErrorCode>();

function modemExit(error: ModemError): ExitCode {
  switch (error.code) {
    case "ERR_MODEM_ATTESTTOKEN":
    case "ERR_MODEM_ATTRIBUTES":
    case "ERR_MODEM_CFUN_MODE":
    case "ERR_MODEM_CFUN_RESTORE":
    case "ERR_MODEM_CREDENTIAL_CONTENT":
    case "ERR_MODEM_CREDENTIAL_TOO_LONG":
    case "ERR_MODEM_CREDENTIAL_TYPE":
    case "ERR_MODEM_CREDENTIAL_VERIFY":
    case "ERR_MODEM_FIRMWARE_TOO_OLD":
    case "ERR_MODEM_FIRMWARE_UNKNOWN":
    case "ERR_MODEM_IMEI":
    case "ERR_MODEM_JWT_OPTIONS":
    case "ERR_MODEM_MODEL":
    case "ERR_MODEM_SEC_TAG":
    case "ERR_MODEM_SHELL_LF_UNESCAPE":
    case "ERR_MODEM_TIME_UNKNOWN":
    case "ERR_MODEM_UNEXPECTED_RESPONSE":
      return DEVICE;
    default:
      return unreachable(error.code);
  }
}

const pipelineCodes = [
  "ERR_PROVISION_STEP_FAILED",
  "ERR_PROVISION_ISSUE",
  "ERR_PROVISION_ONBOARD",
  "ERR_PROVISION_SEC_TAG_IN_USE",
  "ERR_PROVISION_DEVICE_ID_MISMATCH",
  "ERR_PROVISION_VERIFY",
  "ERR_PROVISION_JOURNAL",
  "ERR_PROVISION_JOURNAL_CORRUPT",
  "ERR_PROVISION_JOURNAL_IN_USE",
  "ERR_PROVISION_CSV_DUPLICATE",
  "ERR_PROVISION_CSV_LOCKED",
  "ERR_PROVISION_NOT_IN_LEDGER",
  "ERR_PROVISION_NOT_ONBOARDED",
  "ERR_PROVISION_UNFINISHED",
  "ERR_CLOUD_UNEXPECTED",
  "ERR_USAGE",
] as const;
expectTypeOf<(typeof pipelineCodes)[number]>().toEqualTypeOf<PipelineErrorCode>();

function pipelineExit(error: PipelineError): ExitCode {
  switch (error.code) {
    case "ERR_PROVISION_STEP_FAILED":
    case "ERR_PROVISION_SEC_TAG_IN_USE":
    case "ERR_PROVISION_DEVICE_ID_MISMATCH":
    case "ERR_PROVISION_VERIFY":
      return DEVICE;
    case "ERR_PROVISION_ISSUE":
    case "ERR_PROVISION_NOT_IN_LEDGER":
      return CA;
    case "ERR_PROVISION_ONBOARD":
    case "ERR_PROVISION_CSV_DUPLICATE":
    case "ERR_PROVISION_NOT_ONBOARDED":
    case "ERR_CLOUD_UNEXPECTED":
      return CLOUD;
    case "ERR_PROVISION_JOURNAL":
    case "ERR_PROVISION_JOURNAL_CORRUPT":
    case "ERR_PROVISION_JOURNAL_IN_USE":
    case "ERR_PROVISION_CSV_LOCKED":
    case "ERR_PROVISION_UNFINISHED":
      return FAILURE;
    case "ERR_USAGE":
      return USAGE;
    default:
      return unreachable(error.code);
  }
}

const serialCodes = [
  "ERR_PORT_AMBIGUOUS",
  "ERR_PORT_LIST",
  "ERR_PORT_NOT_FOUND",
  "ERR_PORT_OPEN",
  "ERR_TRANSPORT_CLOSED",
  "ERR_TRANSPORT_DISCONNECTED",
  "ERR_TRANSPORT_WRITE",
] as const;
expectTypeOf<(typeof serialCodes)[number]>().toEqualTypeOf<SerialErrorCode>();

function serialExit(error: SerialError): ExitCode {
  switch (error.code) {
    case "ERR_PORT_AMBIGUOUS":
    case "ERR_PORT_LIST":
    case "ERR_PORT_NOT_FOUND":
    case "ERR_PORT_OPEN":
    case "ERR_TRANSPORT_CLOSED":
    case "ERR_TRANSPORT_DISCONNECTED":
    case "ERR_TRANSPORT_WRITE":
      return DEVICE;
    default:
      return unreachable(error.code);
  }
}

const simCodes = ["ERR_SIM_PTY", "ERR_USAGE"] as const;
expectTypeOf<(typeof simCodes)[number]>().toEqualTypeOf<SimErrorCode>();

function simExit(error: SimError): ExitCode {
  switch (error.code) {
    case "ERR_SIM_PTY":
      return FAILURE;
    case "ERR_USAGE":
      return USAGE;
    default:
      return unreachable(error.code);
  }
}

const lineCodes = ["ERR_LINE_DASHBOARD_TOKEN_REQUIRED", "ERR_LINE_DASHBOARD_LISTEN"] as const;
expectTypeOf<(typeof lineCodes)[number]>().toEqualTypeOf<LineErrorCode>();

function lineExit(error: LineError): ExitCode {
  switch (error.code) {
    case "ERR_LINE_DASHBOARD_TOKEN_REQUIRED":
      return USAGE;
    case "ERR_LINE_DASHBOARD_LISTEN":
      return FAILURE;
    default:
      return unreachable(error.code);
  }
}

const storeCodes = [
  "ERR_STORE_URL",
  "ERR_STORE_UNAVAILABLE",
  "ERR_STORE_SCHEMA",
  "ERR_STORE_QUERY",
  "ERR_STORE_EVENT_CORRUPT",
  "ERR_STORE_STATION_RUNNING",
  "ERR_STORE_STATION_UNKNOWN",
  "ERR_STORE_STATION_REVOKED",
  "ERR_STORE_BOARD_CLAIMED",
] as const;
expectTypeOf<(typeof storeCodes)[number]>().toEqualTypeOf<StoreErrorCode>();

function storeExit(error: StoreError): ExitCode {
  switch (error.code) {
    case "ERR_STORE_URL":
      return USAGE;
    case "ERR_STORE_UNAVAILABLE":
    case "ERR_STORE_SCHEMA":
    case "ERR_STORE_QUERY":
    case "ERR_STORE_EVENT_CORRUPT":
    case "ERR_STORE_STATION_RUNNING":
    case "ERR_STORE_STATION_UNKNOWN":
    case "ERR_STORE_STATION_REVOKED":
    case "ERR_STORE_BOARD_CLAIMED":
      return STORE;
    default:
      return unreachable(error.code);
  }
}

const provisioningCodes = [
  "ERR_PROVISIONING_NOT_CLAIMED",
  "ERR_PROVISIONING_WAIT_TIMEOUT",
  "ERR_PROVISIONING_RESPONSE",
  "ERR_PROVISIONING_CLAIM_FAILED",
  "ERR_PROVISIONING_TOKEN_CSV",
  "ERR_PROVISIONING_MODEL",
  "ERR_PROVISIONING_OPTIONS",
  "ERR_PROVISIONING_TRIGGER",
  "ERR_PROVISIONING_COMMAND_FAILED",
  "ERR_PROVISIONING_CSR_MISMATCH",
  "ERR_PROVISIONING_VERIFY",
] as const;
expectTypeOf<(typeof provisioningCodes)[number]>().toEqualTypeOf<ProvisioningErrorCode>();

function provisioningExit(error: ProvisioningError): ExitCode {
  switch (error.code) {
    case "ERR_PROVISIONING_NOT_CLAIMED":
    case "ERR_PROVISIONING_WAIT_TIMEOUT":
    case "ERR_PROVISIONING_RESPONSE":
    case "ERR_PROVISIONING_CLAIM_FAILED":
      return CLOUD;
    case "ERR_PROVISIONING_TOKEN_CSV":
    case "ERR_PROVISIONING_OPTIONS":
      return USAGE;
    case "ERR_PROVISIONING_MODEL":
    case "ERR_PROVISIONING_TRIGGER":
    case "ERR_PROVISIONING_COMMAND_FAILED":
    case "ERR_PROVISIONING_CSR_MISMATCH":
    case "ERR_PROVISIONING_VERIFY":
      return DEVICE;
    default:
      return unreachable(error.code);
  }
}

const layers = [
  layer(
    "AtError",
    atCodes,
    (code) => new AtError(code, "x", { details: { port: "p", command: "AT" } }),
    atExit,
  ),
  layer("AttestError", attestCodes, (code) => new AttestError(code, "x"), attestExit),
  layer("CaError", caCodes, (code) => new CaError(code, "x"), caExit),
  layer("CliError", cliCodes, (code) => new CliError(code, "x"), cliExit),
  layer("CloudError | BulkOpsError | CsvError", cloudCodes, makeCloudError, cloudExit),
  layer("FileError", filesCodes, (code) => new FileError(code, "x"), filesExit),
  layer(
    "FileLockedError",
    fileLockCodes,
    () => new FileLockedError("/tmp/x.lock", null),
    fileLockExit,
  ),
  layer("JwtError", jwtCodes, (code) => new JwtError(code, "x"), jwtExit),
  layer("LineError", lineCodes, (code) => new LineError(code, "x"), lineExit),
  layer("ModemError", modemCodes, (code) => new ModemError(code, "x"), modemExit),
  layer("PipelineError", pipelineCodes, (code) => new PipelineError(code, "x"), pipelineExit),
  layer(
    "ProvisioningError",
    provisioningCodes,
    (code) => new ProvisioningError(code, "x"),
    provisioningExit,
  ),
  layer("SerialError", serialCodes, (code) => new SerialError(code, "x"), serialExit),
  layer("StoreError", storeCodes, (code) => new StoreError(code, "x"), storeExit),
  layer("SimError", simCodes, (code) => new SimError(code, "x"), simExit),
];

/** Builds the error of the cloud layer that carries `code` (three classes share the union). */
function makeCloudError(code: CloudLayerErrorCode): CloudError | BulkOpsError | CsvError {
  switch (code) {
    case "ERR_CSV_INVALID":
      return new CsvError("x", { reason: "x" });
    case "ERR_BULK_FAILED":
    case "ERR_BULK_TIMEOUT":
    case "ERR_BULK_WAIT_ABORTED":
      return new BulkOpsError(code, "x");
    default:
      return new CloudError(code, "x");
  }
}

/** One layer: its codes, how to build its error for a code, and its exhaustive switch. */
function layer<E extends NrfProvisionError>(
  name: string,
  codes: readonly E["code"][],
  make: (code: E["code"]) => E,
  exit: (error: E) => ExitCode,
) {
  const check = () => {
    expect(codes.length).toBeGreaterThan(0);
    for (const code of codes) {
      const error = make(code);
      expect(error).toBeInstanceOf(NrfProvisionError);
      expect(error).toMatchObject({ code });
      expect(exit(error), code).toBe(exitCodeForErrorCode(code));
    }
  };
  return { name, codes, check };
}

/** What adding `ERR_AT_NEW` to `AtErrorCode` without a case for it does: the default fails to compile. */
function atExitWithNewCode(code: AtErrorCode | "ERR_AT_NEW"): ExitCode {
  switch (code) {
    case "ERR_AT_CME":
    case "ERR_AT_CMS":
    case "ERR_AT_COMMAND_INVALID":
    case "ERR_AT_COMMAND_TOO_LONG":
    case "ERR_AT_DISCONNECTED":
    case "ERR_AT_ERROR":
    case "ERR_AT_FRAMING":
    case "ERR_AT_NO_RESPONDER":
    case "ERR_AT_TIMEOUT":
      return DEVICE;
    default:
      // @ts-expect-error Argument of type '"ERR_AT_NEW"' is not assignable to parameter of type 'never'.
      return unreachable(code);
  }
}

describe("the error-code unions", () => {
  it.each(layers)(
    "$name: each code has its class, and its switch gives the table's exit code",
    ({ check }) => check(),
  );

  it("together are every code of the exit-code table, and ErrorCode is their union", () => {
    const listed = new Set<string>(layers.flatMap(({ codes }) => codes));
    listed.add("ERR_UNEXPECTED");
    expect([...listed].sort()).toEqual(Object.keys(exitCodeByErrorCode).sort());
    type Listed = (typeof layers)[number]["codes"][number] | UnexpectedErrorCode;
    expectTypeOf<Listed>().toEqualTypeOf<ErrorCode>();
  });

  it("a code outside the union fails to compile (the switch, the exit table)", () => {
    expect(atExitWithNewCode("ERR_AT_TIMEOUT")).toBe(DEVICE);
    expect(() => atExitWithNewCode("ERR_AT_NEW")).toThrow("unhandled error code ERR_AT_NEW");
    // @ts-expect-error Property '"ERR_AT_NEW"' is missing: the table must list every code.
    const table: Record<ErrorCode | "ERR_AT_NEW", ExitCode> = exitCodeByErrorCode;
    expect(table).toBe(exitCodeByErrorCode);
  });

  it("each class takes only its own layer's codes", () => {
    expectTypeOf<AtError["code"]>().toEqualTypeOf<AtErrorCode>();
    expectTypeOf<ModemError["code"]>().toEqualTypeOf<ModemErrorCode>();
    expectTypeOf<CaError["code"]>().toEqualTypeOf<CaErrorCode>();
    expectTypeOf<PipelineError["code"]>().toEqualTypeOf<PipelineErrorCode>();
    // An AT failure always names its port and command, and a CME error carries its number.
    expectTypeOf<AtError["details"]["port"]>().toEqualTypeOf<string>();
    expectTypeOf<AtError["details"]["cme"]>().toEqualTypeOf<number | null | undefined>();
    const details = { port: "p", command: "AT" };
    // @ts-expect-error an AtError cannot carry a modem code
    expect(new AtError("ERR_MODEM_IMEI", "x", { details }).code).toBe("ERR_MODEM_IMEI");
  });
});

describe("isNrfProvisionError(error, code)", () => {
  it("is true only for that code, and narrows the type to it", () => {
    const thrown: unknown = new AtError("ERR_AT_CME", "AT%KEYGEN → +CME ERROR: 514", {
      details: { port: "/dev/ttyACM0", command: "AT%KEYGEN=7,2,0", cme: 514 },
    });
    expect(isNrfProvisionError(thrown)).toBe(true);
    expect(isNrfProvisionError(thrown, "ERR_AT_TIMEOUT")).toBe(false);
    expect(isNrfProvisionError(new Error("x"))).toBe(false);
    if (!isNrfProvisionError(thrown, "ERR_AT_CME")) throw new Error("not narrowed");
    expectTypeOf(thrown.code).toEqualTypeOf<"ERR_AT_CME">();
    expect(thrown.details.cme).toBe(514);
  });

  it("without a code narrows to any ErrorCode; refuses a code no layer has", () => {
    const thrown: unknown = new SerialError("ERR_PORT_OPEN", "x");
    if (!isNrfProvisionError(thrown)) throw new Error("not narrowed");
    expectTypeOf(thrown.code).toEqualTypeOf<ErrorCode>();
    // @ts-expect-error "ERR_PORT_GONE" is in no layer's union
    expect(isNrfProvisionError(thrown, "ERR_PORT_GONE")).toBe(false);
  });
});
