import { resolve } from "node:path";
import type { Command } from "commander";
import type { CertificateAuthority } from "../../ca/index.js";
import type { CloudClientOptions } from "../../cloud/index.js";
import { DEVICE_ID_RULE } from "../../device-id/index.js";
// The pipeline's modules one by one, not its index: `provision` needs none of the station's.
import { parseDeviceIdPolicy } from "../../pipeline/device-id.js";
import { ProvisionError } from "../../pipeline/errors.js";
import type { Onboarder } from "../../pipeline/onboarder.js";
import type { BoardConnection } from "../../pipeline/provision.js";
import { formatProvisionSummary, formatTimings } from "../../pipeline/report.js";
import { loadRootCaBundle } from "../../pipeline/root-ca.js";
import { defaultSecTag } from "../../pipeline/sec-tag.js";
import type { StationBoardOptions } from "../../pipeline/station.js";
import { portListerFromEnv, resolvePort } from "../../serial/index.js";
import { addCloudOptions, type CloudCliOptions, cloudSettingsFrom } from "../cloud-options.js";
import * as cli from "../context.js";
import { type ExitCode, exitCodeForErrorCode } from "../exit-codes.js";
import type { CliIo } from "../io.js";
import {
  addLinkOptions,
  type LinkCliOptions,
  linkSettingsFrom,
  serialBoard,
  trafficLog,
} from "../link-options.js";

/** Options `provision` and `station` share: what every board gets, how to reach it and the cloud. */
export interface BoardCliOptions extends LinkCliOptions, CloudCliOptions {
  caDir: string;
  secTag: string;
  deviceId: string;
  replace?: boolean;
  rootCa?: string[];
  subType?: string;
  tags?: string;
  fwTypes?: string;
  saveDir?: string;
  certChain?: boolean;
}

interface ProvisionCliOptions extends BoardCliOptions {
  port: string;
  onboard: string;
  json?: boolean;
}

/** Registers `provision`: one board, from fresh to onboarded (the bench). */
export function register(program: Command, ctx: cli.CliContext): void {
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

/** Adds the per-board options, the link options and the cloud options (also used by `station`). */
export function addBoardOptions(command: Command): Command {
  command
    .requiredOption("--ca-dir <dir>", "directory of the local CA (see `nrf-provision ca init`)")
    .option("--sec-tag <n>", "sec tag for the nRF Cloud credentials", String(defaultSecTag))
    .option(
      "--device-id <uuid|imei|imei:PREFIX|ID>",
      `device ID: the modem's UUID, nrf-<IMEI>, <PREFIX><IMEI>, or a literal ID; ${DEVICE_ID_RULE}`,
      "uuid",
    )
    .option("--replace", "delete credentials already in the sec tag (and a duplicate CSV row)")
    .option("--root-ca <file...>", "root CA PEM file(s) to write instead of Amazon Root CA 1")
    .option("--sub-type <type>", "nRF Cloud device subType")
    .option("--tags <a,b>", "nRF Cloud device tags, comma-separated")
    .option(
      "--fw-types <APP,MODEM>",
      "firmware types for FOTA, comma-separated (default APP,MODEM; '' for none)",
    )
    .option("--save-dir <dir>", "keep each device's CSR, certificate and device.json here")
    .option(
      "--cert-chain",
      "write the station CA's certificate after the device certificate in the client-cert slot (a CA made by ca delegate)",
    );
  return addCloudOptions(addLinkOptions(command));
}

/**
 * The board's link opens first and flushes (a quiet line, nrf91-at.md §1) while the pipeline,
 * the CA and the attestation parser load: start-up is most of a one-board run (issue 12).
 */
async function provisionCommand(options: ProvisionCliOptions, ctx: cli.CliContext): Promise<void> {
  const { io } = ctx;
  const connect = boardConnector(options, io);
  const boardOptions = await boardOptionsFrom(options, io);
  const makeOnboarder = onboarderFor(options, io);
  const port = await resolvePort(options.port, { lister: portListerFromEnv(io.env) });
  const board = connect(port);
  const link = board.open();
  // Its failure is the pipeline's "connect" step's to report, unless something fails first.
  link.catch(() => {});
  const pipeline = import("../../pipeline/provision.js");
  pipeline.catch(() => {}); // awaited below, unless the CA fails first
  let ca: CertificateAuthority;
  let onboarder: Onboarder;
  try {
    onboarder = await makeOnboarder();
    ca = await (await import("../passphrase.js")).openCaWithPassphrase(io, options.caDir);
  } catch (error) {
    await link.then((at) => at.close()).catch(() => {});
    throw error;
  }
  try {
    const { provisionBoard } = await pipeline;
    const result = await provisionBoard({
      ...boardOptions,
      board: { port: board.port, open: () => link },
      ca,
      onboarder,
    });
    if (options.json) cli.writeJson(io, { ok: true, ...result });
    else cli.writeLines(io, ...formatProvisionSummary(result));
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
  ctx: cli.CliContext,
  error: ProvisionError,
  json: boolean,
): void {
  if (json) cli.writeJson(ctx.io, { ok: false, error: error.toJSON(), steps: error.timings });
  ctx.io.stderr.write(`error: ${error.message} [${error.code}]\n`);
  if (error.timings.length > 0) ctx.io.stderr.write(`steps: ${formatTimings(error.timings)}\n`);
  ctx.exitCode = exitCodeForProvisionError(error);
}

/** A failed board's exit code: its error code's, from the one table (a step's own code too). */
export function exitCodeForProvisionError(error: ProvisionError): ExitCode {
  return exitCodeForErrorCode(error.code);
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
    secTag: cli.parseIntegerOption("--sec-tag", options.secTag, { min: 0, max: 2147483647 }),
    replace: options.replace === true,
    onboardingFields: {
      subType: options.subType,
      tags,
      supportedFirmwareTypes,
    },
    saveDir: options.saveDir === undefined ? undefined : resolve(io.cwd, options.saveDir),
    certificateChainPem: options.certChain
      ? await certificateChainFor(resolve(io.cwd, options.caDir))
      : undefined,
  };
}

/** `--cert-chain`: the intermediate of a delegated CA (a root alone is no chain to send). */
async function certificateChainFor(caDir: string): Promise<string> {
  // Loaded only with --cert-chain: provision's start-up loads no CA module (issue 12).
  const { DELEGATED_ROOT_FILE, readDelegatedRoot } = await import("../../ca/delegate.js");
  const { readCaInfo } = await import("../../ca/authority.js");
  if ((await readDelegatedRoot(caDir)) === undefined) {
    throw cli.usageError(
      `--cert-chain needs a station CA made by "ca delegate" (with ${DELEGATED_ROOT_FILE} beside ca.pem); ${caDir} is a root CA, whose device certificates need no chain. Leave out --cert-chain.`,
    );
  }
  const info = await readCaInfo(caDir);
  return `${info.certificatePem.replaceAll("\r\n", "\n").trimEnd()}\n`;
}

/**
 * The onboarding step `--onboard` asks for, checked now (a usage error before any board is
 * touched) and made when called: its modules load only then.
 */
function onboarderFor(options: ProvisionCliOptions, io: CliIo): () => Promise<Onboarder> {
  const mode = options.onboard;
  const onboarding = () => import("../../pipeline/onboarding.js");
  if (mode === "none")
    return async () => (await import("../../pipeline/onboarder.js")).skipOnboarding;
  if (mode === "single") {
    const settings = cloudSettingsFor(options, io, "--onboard single");
    return async () => {
      const [{ onboardEachDevice }, { createCloudClient }] = await Promise.all([
        onboarding(),
        import("../../cloud/index.js"),
      ]);
      return onboardEachDevice(createCloudClient(settings));
    };
  }
  if (mode.startsWith("csv:") && mode.length > "csv:".length) {
    const file = resolve(io.cwd, mode.slice("csv:".length));
    const replace = options.replace === true;
    return async () => (await onboarding()).appendToOnboardingCsv(file, { replace });
  }
  throw cli.usageError(`--onboard must be single, csv:FILE or none, got "${mode}"`);
}

/** nRF Cloud client settings from --api-key/--base-url or the environment; refuses to run keyless. */
export function cloudSettingsFor(
  options: BoardCliOptions,
  io: CliIo,
  purpose: string,
): CloudClientOptions {
  return cloudSettingsFrom(options, io, { purpose, hint: "or choose --onboard none" });
}

/**
 * How boards are reached, from the link flags (validated now, before any board is touched):
 * a fresh serial link with those settings on every open, its AT traffic on stderr with
 * `--verbose` (each line prefixed with the port).
 */
export function boardConnector(
  options: BoardCliOptions,
  io: CliIo,
): (port: string) => BoardConnection {
  const settings = linkSettingsFrom(options);
  return (port) => serialBoard(port, settings, trafficLog(options, io, `${port} `));
}
