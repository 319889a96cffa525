import { resolve } from "node:path";
import { type Command, Option } from "commander";
import { DEVICE_ID_RULE } from "../../device-id/index.js";
import { parseDeviceIdPolicy } from "../../pipeline/device-id.js";
import type { Onboarder } from "../../pipeline/onboarder.js";
import { defaultSecTag } from "../../pipeline/provision.js";
import { loadRootCaBundle } from "../../pipeline/root-ca.js";
import type { ProvisioningClient } from "../../provisioning/client.js";
import type { RemoteBoard, RemoteProvisionResult } from "../../provisioning/remote.js";
import { openSerialTransport, portListerFromEnv, resolvePort } from "../../serial/index.js";
import { addCloudOptions, type CloudCliOptions, cloudSettingsFrom } from "../cloud-options.js";
import * as cli from "../context.js";
import type { CliIo } from "../io.js";
import {
  addLinkOptions,
  type LinkCliOptions,
  type LinkSettings,
  linkSettingsFrom,
  serialBoard,
  trafficLog,
} from "../link-options.js";
import { openCaWithPassphrase } from "../passphrase.js";
import { packageVersion } from "../version.js";

interface ProvisionRemoteCliOptions extends LinkCliOptions, CloudCliOptions {
  port: string;
  caDir?: string;
  tags?: string;
  ensureRule?: boolean;
  trigger: string;
  waitTimeout: string;
  pollInterval: string;
  provisioningUrl?: string;
  secTag: string;
  deviceId: string;
  rootCa?: string[];
  onboard: string;
  json?: boolean;
}

/** Registers `provision-remote`: claim a board and provision it through nRF Cloud's Provisioning Service. */
export function register(program: Command, ctx: cli.CliContext): void {
  const command = program
    .command("provision-remote")
    .description(
      "Claim one nRF91x1 board by its attestation token and provision it through nRF Cloud's Provisioning Service (the device makes its key and writes its credentials), with a certificate from the local CA.",
    )
    .requiredOption("--port <path|auto>", "serial port of the board's AT interface, or auto")
    .option(
      "--ca-dir <dir>",
      "directory of the local CA (not needed with --tags nrf-cloud-onboarding)",
    )
    .option(
      "--tags <a,b>",
      "provisioning tags for the claim; nrf-cloud-onboarding takes the auto-onboarding path",
    )
    .option(
      "--ensure-rule",
      "auto-onboarding: create the nrf-cloud-onboarding tag and rule if no rule has the tag",
    )
    .addOption(
      new Option(
        "--trigger <how>",
        "make the device poll: its shell, AT#PROVSTART, or by hand (auto: shell or AT, as detected)",
      )
        .choices(["auto", "shell", "at", "manual"])
        .default("auto"),
    )
    .option(
      "--wait-timeout <seconds>",
      "give up waiting for the device after this long (each wait)",
      "300",
    )
    .option("--poll-interval <seconds>", "between reads of a command's status", "5")
    .option(
      "--provisioning-url <url>",
      "Provisioning Service base URL (default: $NRF_PROVISIONING_BASE_URL or https://api.provisioning.nrfcloud.com/v1)",
    )
    .option("--sec-tag <n>", "sec tag for the nRF Cloud credentials", String(defaultSecTag))
    .option(
      "--device-id <uuid|imei|imei:PREFIX|ID>",
      `device ID (the CSR's CN): ${DEVICE_ID_RULE}`,
      "uuid",
    )
    .option("--root-ca <file...>", "root CA PEM file(s) to send instead of Amazon Root CA 1")
    .option(
      "--onboard <single|csv:FILE|none>",
      "OnboardDevice now, append a row to an onboarding CSV, or skip",
      "single",
    )
    .option("--json", "print one JSON document");
  addCloudOptions(addLinkOptions(command)).action((options: ProvisionRemoteCliOptions) =>
    provisionRemoteCommand(options, ctx),
  );
}

function listOf(value: string | undefined): string[] | undefined {
  const items = value
    ?.split(",")
    .map((item) => item.trim())
    .filter(Boolean);
  return items === undefined || items.length === 0 ? undefined : items;
}

async function provisionRemoteCommand(
  options: ProvisionRemoteCliOptions,
  ctx: cli.CliContext,
): Promise<void> {
  const { io } = ctx;
  const tags = listOf(options.tags);
  const autoOnboarding = tags?.includes("nrf-cloud-onboarding") === true;
  if (!autoOnboarding && options.caDir === undefined)
    throw cli.usageError(
      "provision-remote needs --ca-dir (the local CA issues the certificate), unless --tags nrf-cloud-onboarding",
    );
  const settings = linkSettingsFrom(options);
  const service = await provisioningClientFrom(options, io);
  const onboarder = autoOnboarding ? undefined : await onboarderFor(options, io);
  const ca =
    options.caDir === undefined || autoOnboarding
      ? undefined
      : await openCaWithPassphrase(io, options.caDir);
  try {
    const port = await resolvePort(options.port, { lister: portListerFromEnv(io.env) });
    const { provisionRemote } = await import("../../provisioning/remote.js");
    const result = await provisionRemote({
      board: remoteBoard(port, settings, trafficLog(options, io, `${port} `)),
      service,
      ca,
      rootCaPem: await loadRootCaBundle(
        (options.rootCa ?? []).map((file) => resolve(io.cwd, file)),
      ),
      secTag: cli.parseIntegerOption("--sec-tag", options.secTag, { min: 0, max: 2147483647 }),
      deviceIdPolicy: parseDeviceIdPolicy(options.deviceId),
      tags,
      ensureRule: options.ensureRule === true,
      onboarder,
      trigger: options.trigger as "auto" | "shell" | "at" | "manual",
      waitTimeoutMs:
        cli.parseIntegerOption("--wait-timeout", options.waitTimeout, { min: 1 }) * 1000,
      pollIntervalMs:
        cli.parseIntegerOption("--poll-interval", options.pollInterval, { min: 0 }) * 1000,
      onStep: options.json ? undefined : (step, detail) => io.stdout.write(`${step}: ${detail}\n`),
    });
    if (options.json) cli.writeJson(io, { ok: true, ...result });
    else cli.writeLines(io, ...describe(result));
  } finally {
    await ca?.close();
  }
}

function describe(result: RemoteProvisionResult): string[] {
  const commands = result.commands.map((command) => `${command.type} ${command.status}`).join(", ");
  if (result.path === "auto-onboarding") {
    return [
      `Claimed ${result.deviceUuid} (IMEI ${result.imei}) with tag nrf-cloud-onboarding; the rule's commands finished: ${commands}.`,
      "The service registered the device's key with nRF Cloud (device ID = its UUID).",
    ];
  }
  return [
    `Provisioned ${result.deviceId} (IMEI ${result.imei}) through the Provisioning Service: ${commands}.`,
    `  certificate ${result.certificate?.serialNumber}, sec tag ${result.secTag}, verified on the modem`,
    `  onboarding: ${result.onboarding.mode}`,
  ];
}

async function onboarderFor(options: ProvisionRemoteCliOptions, io: CliIo): Promise<Onboarder> {
  const mode = options.onboard;
  if (mode === "none") return (await import("../../pipeline/onboarder.js")).skipOnboarding;
  const { appendToOnboardingCsv, onboardEachDevice } = await import("../../pipeline/onboarding.js");
  if (mode === "single") {
    const settings = cloudSettingsFrom(options, io, {
      purpose: "--onboard single",
      hint: "or choose --onboard none",
    });
    return onboardEachDevice((await import("../../cloud/index.js")).createCloudClient(settings));
  }
  if (mode.startsWith("csv:") && mode.length > "csv:".length)
    return appendToOnboardingCsv(resolve(io.cwd, mode.slice("csv:".length)), { replace: false });
  throw cli.usageError(`--onboard must be single, csv:FILE or none, got "${mode}"`);
}

/** The Provisioning Service: `--provisioning-url` or NRF_PROVISIONING_BASE_URL, the team's API key. */
async function provisioningClientFrom(
  options: ProvisionRemoteCliOptions,
  io: CliIo,
): Promise<ProvisioningClient> {
  const { createProvisioningClient, DEFAULT_PROVISIONING_BASE_URL } = await import(
    "../../provisioning/client.js"
  );
  const baseUrl =
    options.provisioningUrl || io.env.NRF_PROVISIONING_BASE_URL || DEFAULT_PROVISIONING_BASE_URL;
  if (!/^https?:\/\/[^/]/.test(baseUrl))
    throw cli.usageError(
      `the Provisioning Service URL must be an http(s) URL including /v1, got "${baseUrl}"`,
    );
  const apiKey = options.apiKey || io.env.NRF_CLOUD_API_KEY;
  if (!apiKey)
    throw cli.usageError(
      "no nRF Cloud API key for the Provisioning Service: set NRF_CLOUD_API_KEY or pass --api-key. Nothing was sent.",
    );
  return createProvisioningClient({
    baseUrl,
    apiKey,
    timeoutMs:
      cli.parseIntegerOption("--http-timeout", options.httpTimeout ?? "30", { min: 1, max: 3600 }) *
      1000,
    userAgent: `nrf-provision/${packageVersion}`,
  });
}

/** The board over its serial port, plus raw lines for shell firmware (`nrf_provisioning now`). */
function remoteBoard(
  port: string,
  settings: LinkSettings,
  log?: (line: string) => void,
): RemoteBoard {
  const board = serialBoard(port, settings, log);
  return {
    port,
    open: () => board.open(),
    shellLine: async (line) => {
      const transport = await openSerialTransport(port, settings.serial);
      let printed = "";
      const done = new Promise<void>((resolveDone) => {
        const timer = setTimeout(resolveDone, 3000);
        transport.onData((chunk) => {
          printed += Buffer.from(chunk).toString("utf8");
          if (
            /Externally initiated provisioning|command not found|already in progress/.test(printed)
          ) {
            clearTimeout(timer);
            resolveDone();
          }
        });
      });
      try {
        log?.(`>> ${line}`);
        await transport.write(`${line}${settings.at.terminator ?? "\r\n"}`);
        await done;
        log?.(`<< ${printed.trim()}`);
        return printed;
      } finally {
        await transport.close();
      }
    },
  };
}
