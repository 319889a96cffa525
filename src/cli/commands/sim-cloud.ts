import type { Command } from "commander";
import * as cli from "../context.js";
import {
  addSimServerOptions,
  type SimServerCliOptions,
  serveUntilStopped,
  simServerSettings,
} from "./sim-server.js";

interface SimCloudCliOptions extends SimServerCliOptions {
  bulkDelayMs: string;
  ownershipCode?: string[];
}

/** `sim cloud`: a simulated nRF Cloud REST API on 127.0.0.1 until Ctrl-C. */
export function registerSimCloud(sim: Command, ctx: cli.CliContext): void {
  const command = sim
    .command("cloud")
    .description(
      "Run a simulated nRF Cloud REST API; point NRF_CLOUD_BASE_URL at the printed URL. Ctrl-C stops it.",
    );
  addSimServerOptions(command)
    .option("--bulk-delay-ms <n>", "time a bulk operation takes from upload to result", "1000")
    .option(
      "--ownership-code <deviceId=code...>",
      "a Nordic board the account may claim by the code on its label (cloud associate, create-cert)",
    )
    .action(async (flags: SimCloudCliOptions) => {
      const ownershipCodes = parseOwnershipCodes(flags.ownershipCode ?? []);
      const { startSimCloud } = await import("../../sim/cloud/index.js");
      const cloud = await startSimCloud({
        ownershipCodes,
        ...simServerSettings(flags),
        bulkDelayMs: cli.parseIntegerOption("--bulk-delay-ms", flags.bulkDelayMs, { min: 0 }),
        seed: Date.now(),
      });
      await serveUntilStopped(ctx, cloud, flags.json, [
        `Simulated nRF Cloud on ${cloud.baseUrl}`,
        `  export NRF_CLOUD_BASE_URL=${cloud.baseUrl}`,
        `  export NRF_CLOUD_API_KEY=${cloud.apiKey}`,
        "Press Ctrl-C to stop.",
      ]);
    });
}

/** `nrf-352656100367881=123456` pairs: device ID and ownership code. */
function parseOwnershipCodes(pairs: readonly string[]): Record<string, string> {
  const codes: Record<string, string> = {};
  for (const pair of pairs) {
    const match = /^([^=\s]+)=(\S+)$/.exec(pair);
    if (!match) {
      throw cli.usageError(
        `--ownership-code takes deviceId=code (e.g. nrf-352656100367881=123456), got "${pair}"`,
      );
    }
    codes[match[1] as string] = match[2] as string;
  }
  return codes;
}
