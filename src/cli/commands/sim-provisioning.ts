import { type Command, Option } from "commander";
import * as cli from "../context.js";
import {
  addSimServerOptions,
  type SimServerCliOptions,
  serveUntilStopped,
  simServerSettings,
} from "./sim-server.js";

interface SimProvisioningCliOptions extends SimServerCliOptions {
  unclaimedStatus: "401" | "403";
  fail500: string;
  legacyCsrField?: boolean;
  bulkAnswer: "claimed-ids" | "bulk-ops-id";
  boardSeed?: string;
  cloudUrl?: string;
  cloudApiKey?: string;
}

/** `sim provisioning`: a simulated nRF Cloud Provisioning Service on 127.0.0.1 until Ctrl-C. */
export function registerSimProvisioning(sim: Command, ctx: cli.CliContext): void {
  const command = sim
    .command("provisioning")
    .description(
      "Run a simulated nRF Cloud Provisioning Service (claims, provisioning commands, device endpoints); point NRF_PROVISIONING_BASE_URL at the printed URL. Ctrl-C stops it.",
    );
  addSimServerOptions(command)
    .addOption(
      new Option("--unclaimed-status <code>", "what a device that is not claimed gets")
        .choices(["403", "401"])
        .default("403"),
    )
    .option("--fail-500 <n>", "answer the first n requests with HTTP 500", "0")
    .option(
      "--legacy-csr-field",
      "answer CSR commands in the pre-2024 `csr` field instead of `message`",
    )
    .addOption(
      new Option(
        "--bulk-answer <shape>",
        "a bulk claim's answer: the claimed IDs, or a bulk operation ID",
      )
        .choices(["claimed-ids", "bulk-ops-id"])
        .default("claimed-ids"),
    )
    .option(
      "--board-seed <seeds>",
      "trust the simulated boards started with these `sim modem --seed` values (comma-separated): their identity keys",
    )
    .option(
      "--cloud-url <url>",
      "nRF Cloud (e.g. `sim cloud`) where cloudAccessKeyGeneration registers the device's key (default: $NRF_CLOUD_BASE_URL)",
    )
    .option("--cloud-api-key <key>", "API key for --cloud-url (default: --api-key)")
    .action((flags: SimProvisioningCliOptions) => simProvisioningCommand(flags, ctx));
}

async function simProvisioningCommand(
  flags: SimProvisioningCliOptions,
  ctx: cli.CliContext,
): Promise<void> {
  const { startSimProvisioning } = await import("../../sim/provisioning/index.js");
  const cloudUrl = flags.cloudUrl ?? (ctx.io.env.NRF_CLOUD_BASE_URL || undefined);
  const onCloudAccessKey = await cloudKeyRegistrar(cloudUrl, flags.cloudApiKey ?? flags.apiKey);
  const { latencyMs, ...listen } = simServerSettings(flags);
  const service = await startSimProvisioning({
    onCloudAccessKey,
    ...listen,
    faults: {
      latencyMs,
      unclaimedStatus: flags.unclaimedStatus === "401" ? 401 : 403,
      fail500: cli.parseIntegerOption("--fail-500", flags.fail500, { min: 0 }),
      legacyCsrField: flags.legacyCsrField === true,
      bulkAnswer: flags.bulkAnswer,
    },
  });
  if (flags.boardSeed !== undefined) {
    const { SimModem } = await import("../../sim/modem/index.js");
    for (const seed of flags.boardSeed
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean)) {
      const board = new SimModem({ seed });
      service.registerIdentity({
        deviceUuid: board.deviceUuid,
        identityPublicKey: board.identityPublicKeyPem,
        imei: board.imei,
      });
    }
  }
  await serveUntilStopped(ctx, service, flags.json, [
    `Simulated nRF Cloud Provisioning Service on ${service.baseUrl}`,
    `  export NRF_PROVISIONING_BASE_URL=${service.baseUrl}`,
    `  export NRF_CLOUD_API_KEY=${service.apiKey}`,
    `  register a simulated board's identity key: POST ${service.baseUrl}/sim/identities`,
    "Press Ctrl-C to stop.",
  ]);
}

/** cloudAccessKeyGeneration registers the device's public key on nRF Cloud: OnboardDevice with the key PEM. */
async function cloudKeyRegistrar(cloudUrl: string | undefined, apiKey: string | undefined) {
  if (cloudUrl === undefined) return undefined;
  if (!apiKey) throw cli.usageError("--cloud-url needs --cloud-api-key (or --api-key)");
  const { createCloudClient } = await import("../../cloud/index.js");
  const cloud = createCloudClient({ baseUrl: cloudUrl, apiKey });
  return async (event: { deviceUuid: string; publicKeyPem: string }) => {
    await cloud.onboardDevice({ deviceId: event.deviceUuid, certificate: event.publicKeyPem });
  };
}
