import type { Command } from "commander";
import * as cli from "../context.js";

interface SimCloudCliOptions {
  port: string;
  host: string;
  apiKey?: string;
  bulkDelayMs: string;
  latencyMs: string;
  ownershipCode?: string[];
  json?: boolean;
}

/** `sim cloud`: a simulated nRF Cloud REST API on 127.0.0.1 until Ctrl-C. */
export function registerSimCloud(sim: Command, ctx: cli.CliContext): void {
  sim
    .command("cloud")
    .description(
      "Run a simulated nRF Cloud REST API; point NRF_CLOUD_BASE_URL at the printed URL. Ctrl-C stops it.",
    )
    .option("--port <n>", "TCP port (0 picks a free one)", "0")
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--api-key <key>", "API key the simulator accepts (default: random, printed)")
    .option("--bulk-delay-ms <n>", "time a bulk operation takes from upload to result", "1000")
    .option("--latency-ms <n>", "delay added to every response", "0")
    .option(
      "--ownership-code <deviceId=code...>",
      "a Nordic board the account may claim by the code on its label (cloud associate, create-cert)",
    )
    .option("--json", "print {baseUrl, apiKey} as JSON")
    .action(async (flags: SimCloudCliOptions) => {
      const ownershipCodes = parseOwnershipCodes(flags.ownershipCode ?? []);
      const { startSimCloud } = await import("../../sim/cloud/index.js");
      const cloud = await startSimCloud({
        ownershipCodes,
        port: cli.parseIntegerOption("--port", flags.port, { min: 0, max: 65535 }),
        host: flags.host,
        bulkDelayMs: cli.parseIntegerOption("--bulk-delay-ms", flags.bulkDelayMs, { min: 0 }),
        latencyMs: cli.parseIntegerOption("--latency-ms", flags.latencyMs, { min: 0 }),
        ...(flags.apiKey ? { apiKey: flags.apiKey } : {}),
        seed: Date.now(),
      });
      // Listen for Ctrl-C (and SIGTERM, SIGHUP) before saying where we listen: a script may interrupt right away.
      const stopped = ctx.io.stopped;
      // The simulator's key is not a real credential: printing it is how clients learn it.
      if (flags.json) cli.writeJson(ctx.io, { baseUrl: cloud.baseUrl, apiKey: cloud.apiKey });
      else {
        cli.writeLines(
          ctx.io,
          `Simulated nRF Cloud on ${cloud.baseUrl}`,
          `  export NRF_CLOUD_BASE_URL=${cloud.baseUrl}`,
          `  export NRF_CLOUD_API_KEY=${cloud.apiKey}`,
          "Press Ctrl-C to stop.",
        );
      }
      try {
        await stopped;
      } finally {
        await cloud.close();
      }
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
