import { type Command, Option } from "commander";
import type { SimModem } from "../../sim/modem/index.js";
import { parseIntegerOption, usageError } from "../context.js";

// The `sim modem` flags that run the device's provisioning client (sdk-nrf nrf_provisioning) on
// the simulated board, against `sim provisioning` or any service with the device endpoints.

export interface DeviceAgentCliOptions {
  provisioning?: boolean;
  provisioningUrl?: string;
  provisioningClient: string;
  provisioningLimit: string;
  provisioningBuffer: string;
}

/** `sim modem` flags for the device's provisioning client (sdk-nrf nrf_provisioning). */
export function addDeviceAgentOptions(command: Command): Command {
  return command
    .option(
      "--provisioning",
      "run the device's nrf_provisioning client against $NRF_PROVISIONING_BASE_URL; `nrf_provisioning now` (--shell) or AT#PROVSTART starts it",
    )
    .option("--provisioning-url <url>", "the same against this service (…/v1)")
    .addOption(
      new Option(
        "--provisioning-client <generation>",
        "current: JWT, full mver, limit; legacy: attestation-token auth, numeric mver, no limit",
      )
        .choices(["current", "legacy"])
        .default("current"),
    )
    .option("--provisioning-limit <n>", "most commands per batch (CBOR_RECORDS)", "10")
    .option("--provisioning-buffer <bytes>", "rxMaxSize and txMaxSize", "4096");
}

/** Starts the device agent on `modem` when `--provisioning-url` is given; returns its stop. */
export async function startAgentFrom(
  options: DeviceAgentCliOptions,
  modem: SimModem,
  env: NodeJS.ProcessEnv,
): Promise<(() => Promise<void>) | undefined> {
  const baseUrl =
    options.provisioningUrl ??
    (options.provisioning ? env.NRF_PROVISIONING_BASE_URL || undefined : undefined);
  if (options.provisioning && baseUrl === undefined)
    throw usageError("--provisioning needs NRF_PROVISIONING_BASE_URL (or --provisioning-url)");
  if (baseUrl === undefined) return undefined;
  const buffer = parseIntegerOption("--provisioning-buffer", options.provisioningBuffer, {
    min: 64,
  });
  const { startDeviceAgent } = await import("../../sim/device-agent/index.js");
  const agent = await startDeviceAgent(modem, {
    baseUrl,
    client: options.provisioningClient === "legacy" ? "legacy" : "current",
    limit: parseIntegerOption("--provisioning-limit", options.provisioningLimit, { min: 1 }),
    rxMaxSize: buffer,
    txMaxSize: buffer,
  });
  return () => agent.close();
}
