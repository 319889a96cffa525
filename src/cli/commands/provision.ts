import { resolve } from "node:path";
import type { Command } from "commander";
import { openAtClient } from "../../at/index.js";
import { type CloudClient, createCloudClient } from "../../cloud/index.js";
import {
  appendToOnboardingCsv,
  type BoardConnection,
  defaultSecTag,
  formatProvisionSummary,
  formatTimings,
  loadRootCaBundle,
  type Onboarder,
  onboardEachDevice,
  ProvisionError,
  parseDeviceIdPolicy,
  provisionBoard,
  type StationBoardOptions,
  skipOnboarding,
} from "../../pipeline/index.js";
import { openSerialTransport, portListerFromEnv, resolvePort } from "../../serial/index.js";
import {
  type CliContext,
  parseIntegerOption,
  usageError,
  writeJson,
  writeLines,
} from "../context.js";
import { ExitCode, exitCodeForErrorCode } from "../exit-codes.js";
import type { CliIo } from "../io.js";
import { openCaWithPassphrase } from "../passphrase.js";

/** Options `provision` and `station` share: what every board gets. */
export interface BoardCliOptions {
  caDir: string;
  secTag: string;
  deviceId: string;
  replace?: boolean;
  rootCa?: string[];
  subType?: string;
  tags?: string;
  fwTypes?: string;
  saveDir?: string;
  apiKey?: string;
  baseUrl?: string;
  httpTimeout?: string;
}

interface ProvisionCliOptions extends BoardCliOptions {
  port: string;
  onboard: string;
  json?: boolean;
}

/** Registers `provision`: one board, from fresh to onboarded (the bench). */
export function register(program: Command, ctx: CliContext): void {
  const command = program
    .command("provision")
    .description(
      "Provision one board: KEYGEN in the modem, certificate from the local CA, root CA + certificate written and verified, onboarded on nRF Cloud.",
    )
    .requiredOption("--port <path|auto>", "serial port of the board's AT interface, or auto");
  addBoardOptions(command)
    .option(
      "--onboard <single|csv:FILE|none>",
      "OnboardDevice now, append a row to an onboarding CSV, or skip",
      "single",
    )
    .option("--json", "print one JSON document")
    .action((options: ProvisionCliOptions) => provisionCommand(options, ctx));
}

/** Adds the per-board options (also used by `station`). */
export function addBoardOptions(command: Command): Command {
  return command
    .requiredOption("--ca-dir <dir>", "directory of the local CA (see `nrf-provision ca init`)")
    .option("--sec-tag <n>", "sec tag for the nRF Cloud credentials", String(defaultSecTag))
    .option(
      "--device-id <uuid|imei|imei:PREFIX|ID>",
      "device ID: the modem's UUID, nrf-<IMEI>, <PREFIX><IMEI>, or a literal ID",
      "uuid",
    )
    .option("--replace", "delete credentials already in the sec tag (and a duplicate CSV row)")
    .option("--root-ca <file...>", "root CA PEM file(s) to write instead of Amazon Root CA 1")
    .option("--sub-type <type>", "nRF Cloud device subType")
    .option("--tags <a,b>", "nRF Cloud device tags, comma-separated")
    .option("--fw-types <APP,MODEM>", "supported firmware types, comma-separated")
    .option("--save-dir <dir>", "keep each device's CSR, certificate and device.json here")
    .option("--api-key <key>", "nRF Cloud API key (default: $NRF_CLOUD_API_KEY)")
    .option(
      "--base-url <url>",
      "nRF Cloud API base URL (default: $NRF_CLOUD_BASE_URL or production)",
    )
    .option("--http-timeout <seconds>", "give up on one nRF Cloud request after this long", "30");
}

async function provisionCommand(options: ProvisionCliOptions, ctx: CliContext): Promise<void> {
  const { io } = ctx;
  const boardOptions = await boardOptionsFrom(options, io);
  const onboarder = onboarderFor(options, io);
  const ca = await openCaWithPassphrase(io, options.caDir);
  try {
    const port = await resolvePort(options.port, { lister: portListerFromEnv(io.env) });
    const result = await provisionBoard({
      ...boardOptions,
      board: serialBoard(port),
      ca,
      onboarder,
    });
    if (options.json) writeJson(io, { ok: true, ...result });
    else writeLines(io, ...formatProvisionSummary(result));
  } catch (error) {
    if (!(error instanceof ProvisionError)) throw error;
    reportProvisionFailure(ctx, error, options.json === true);
  } finally {
    await ca.close();
  }
}

/**
 * A failed board: the error (with the steps that ran and their times) goes out here rather
 * than through runCli, so `--json` keeps the timings and the exit code follows the step when
 * the failure is the pipeline's own check.
 */
export function reportProvisionFailure(
  ctx: CliContext,
  error: ProvisionError,
  json: boolean,
): void {
  if (json) writeJson(ctx.io, { ok: false, error: error.toJSON(), steps: error.timings });
  ctx.io.stderr.write(`error: ${error.message} [${error.code}]\n`);
  if (error.timings.length > 0) ctx.io.stderr.write(`steps: ${formatTimings(error.timings)}\n`);
  ctx.exitCode = exitCodeForProvisionError(error);
}

/** Lower layers' codes map as usual; the pipeline's own `ERR_PROVISION_*` by their step. */
export function exitCodeForProvisionError(error: ProvisionError): ExitCode {
  const byCode = exitCodeForErrorCode(error.code);
  if (byCode !== ExitCode.FAILURE) return byCode;
  if (error.step === "issue") return ExitCode.CA;
  if (error.step === "onboard") return ExitCode.CLOUD;
  return ExitCode.DEVICE;
}

/** The settings every board of a run gets, from the flags (validated before any board is touched). */
export async function boardOptionsFrom(
  options: BoardCliOptions,
  io: CliIo,
): Promise<StationBoardOptions> {
  const list = (value: string | undefined) =>
    value === undefined
      ? undefined
      : value
          .split(",")
          .map((item) => item.trim())
          .filter(Boolean);
  const tags = list(options.tags);
  const supportedFirmwareTypes = list(options.fwTypes);
  return {
    deviceIdPolicy: parseDeviceIdPolicy(options.deviceId),
    rootCaPem: await loadRootCaBundle((options.rootCa ?? []).map((file) => resolve(io.cwd, file))),
    secTag: parseIntegerOption("--sec-tag", options.secTag, { min: 0, max: 2147483647 }),
    replace: options.replace === true,
    onboardingFields: {
      ...(options.subType === undefined ? {} : { subType: options.subType }),
      ...(tags === undefined ? {} : { tags }),
      ...(supportedFirmwareTypes === undefined ? {} : { supportedFirmwareTypes }),
    },
    ...(options.saveDir === undefined ? {} : { saveDir: resolve(io.cwd, options.saveDir) }),
  };
}

function onboarderFor(options: ProvisionCliOptions, io: CliIo): Onboarder {
  const mode = options.onboard;
  if (mode === "none") return skipOnboarding;
  if (mode === "single") return onboardEachDevice(cloudClientFrom(options, io, "--onboard single"));
  if (mode.startsWith("csv:") && mode.length > "csv:".length) {
    return appendToOnboardingCsv(resolve(io.cwd, mode.slice("csv:".length)), {
      replace: options.replace === true,
    });
  }
  throw usageError(`--onboard must be single, csv:FILE or none, got "${mode}"`);
}

/** An nRF Cloud client from --api-key/--base-url or the environment; refuses to run keyless. */
export function cloudClientFrom(options: BoardCliOptions, io: CliIo, purpose: string): CloudClient {
  const apiKey = options.apiKey ?? io.env.NRF_CLOUD_API_KEY;
  if (apiKey === undefined || apiKey === "") {
    throw usageError(
      `${purpose} needs an nRF Cloud API key: set NRF_CLOUD_API_KEY (or --api-key), or choose --onboard none`,
    );
  }
  const baseUrl = options.baseUrl ?? io.env.NRF_CLOUD_BASE_URL;
  const timeoutMs =
    parseIntegerOption("--http-timeout", options.httpTimeout ?? "30", { min: 1, max: 3600 }) * 1000;
  return createCloudClient({ apiKey, timeoutMs, ...(baseUrl ? { baseUrl } : {}) });
}

/** A real board on a serial port: a fresh AT client (mode detection, numeric errors) per open. */
export function serialBoard(port: string): BoardConnection {
  return { port, open: async () => openAtClient(await openSerialTransport(port)) };
}
