import { type Command, Option } from "commander";
import type { SimModem } from "../../sim/modem/index.js";
import {
  type CliContext,
  parseIntegerOption,
  usageError,
  writeJson,
  writeLines,
} from "../context.js";

// `sim provisioning` (the simulated Provisioning Service as a process) and the `sim modem`
// flags that run the device's provisioning client on the simulated board.

interface SimProvisioningCliOptions {
  port: string;
  host: string;
  apiKey?: string;
  cloudUrl?: string;
  cloudApiKey?: string;
  unclaimedStatus: string;
  fail500: string;
  latencyMs: string;
  legacyCsrField?: boolean;
  boardSeed?: string[];
  json?: boolean;
}

/** `sim provisioning`: a simulated Provisioning Service on 127.0.0.1 until Ctrl-C. */
export function registerSimProvisioning(sim: Command, ctx: CliContext): void {
  sim
    .command("provisioning")
    .description(
      "Run a simulated nRF Cloud Provisioning Service; point NRF_PROVISIONING_BASE_URL at the printed URL. Ctrl-C stops it.",
    )
    .option("--port <n>", "TCP port (0 picks a free one)", "0")
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--api-key <key>", "team API key the simulator accepts (default: random, printed)")
    .option(
      "--board-seed <seed...>",
      "the identity of `sim modem --seed <seed>` boards, as Nordic's factory database knows real ones",
    )
    .option(
      "--cloud-url <url>",
      "nRF Cloud (e.g. `sim cloud`) where cloudAccessKeyGeneration registers the device's key (default: $NRF_CLOUD_BASE_URL)",
    )
    .option("--cloud-api-key <key>", "API key for --cloud-url (default: --api-key)")
    .addOption(
      new Option("--unclaimed-status <code>", "what an unclaimed device's poll gets")
        .choices(["401", "403"])
        .default("403"),
    )
    .option("--fail-500 <n>", "answer the next n requests with 500", "0")
    .option("--latency-ms <n>", "delay added to every response", "0")
    .option(
      "--legacy-csr-field",
      "answer CSR commands with `csr` (before 2024) instead of `message`",
    )
    .option("--json", "print {baseUrl, apiKey} as JSON")
    .action(async (o: SimProvisioningCliOptions) => {
      const { startSimProvisioning } = await import("../../sim/provisioning/index.js");
      const apiKey = o.apiKey;
      const cloudUrl = o.cloudUrl ?? (ctx.io.env.NRF_CLOUD_BASE_URL || undefined);
      const onCloudAccessKey = await cloudKeyRegistrar(cloudUrl, o.cloudApiKey ?? apiKey);
      const service = await startSimProvisioning({
        port: parseIntegerOption("--port", o.port, { min: 0, max: 65535 }),
        host: o.host,
        ...(apiKey ? { apiKey } : {}),
        faults: {
          unclaimedStatus: o.unclaimedStatus === "401" ? 401 : 403,
          fail500: parseIntegerOption("--fail-500", o.fail500, { min: 0 }),
          latencyMs: parseIntegerOption("--latency-ms", o.latencyMs, { min: 0 }),
          legacyCsrField: o.legacyCsrField === true,
        },
        ...(onCloudAccessKey ? { onCloudAccessKey } : {}),
      });
      if (o.boardSeed?.length) {
        const { SimModem } = await import("../../sim/modem/index.js");
        for (const seed of o.boardSeed) {
          const board = new SimModem({ seed });
          service.registerIdentity({
            deviceUuid: board.deviceUuid,
            identityPublicKey: board.identityPublicKeyPem,
          });
        }
      }
      const stopped = ctx.io.stopped;
      // The simulator's key is not a real credential: printing it is how clients learn it.
      if (o.json) writeJson(ctx.io, { baseUrl: service.baseUrl, apiKey: service.apiKey });
      else {
        writeLines(
          ctx.io,
          `Simulated Provisioning Service on ${service.baseUrl}`,
          `  export NRF_PROVISIONING_BASE_URL=${service.baseUrl}`,
          `  export NRF_CLOUD_API_KEY=${service.apiKey}`,
          "Press Ctrl-C to stop.",
        );
      }
      try {
        await stopped;
      } finally {
        await service.close();
      }
    });
}

/** cloudAccessKeyGeneration registers the device's public key on nRF Cloud: OnboardDevice with the key PEM. */
async function cloudKeyRegistrar(cloudUrl: string | undefined, apiKey: string | undefined) {
  if (cloudUrl === undefined) return undefined;
  if (!apiKey) throw usageError("--cloud-url needs --cloud-api-key (or --api-key)");
  const { createCloudClient } = await import("../../cloud/index.js");
  const cloud = createCloudClient({ baseUrl: cloudUrl, apiKey });
  return async (event: { deviceUuid: string; publicKeyPem: string }) => {
    await cloud.onboardDevice({ deviceId: event.deviceUuid, certificate: event.publicKeyPem });
  };
}

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
