import type { Command } from "commander";
import * as cli from "../context.js";

/** The options every simulated HTTP service (`sim cloud`, `sim provisioning`) takes first. */
export interface SimServerCliOptions {
  port: string;
  host: string;
  apiKey?: string;
  latencyMs: string;
  json?: boolean;
}

export function addSimServerOptions(command: Command): Command {
  return command
    .option("--port <n>", "TCP port (0 picks a free one)", "0")
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--api-key <key>", "API key the simulator accepts (default: random, printed)")
    .option("--latency-ms <n>", "delay added to every response", "0")
    .option("--json", "print {baseUrl, apiKey} as JSON");
}

/**
 * Where the simulator listens, the API key it accepts when one was given, and the delay it adds
 * to every response.
 */
export function simServerSettings(flags: SimServerCliOptions): {
  port: number;
  host: string;
  apiKey: string | undefined;
  latencyMs: number;
} {
  return {
    port: cli.parseIntegerOption("--port", flags.port, { min: 0, max: 65535 }),
    host: flags.host,
    apiKey: flags.apiKey || undefined,
    latencyMs: cli.parseIntegerOption("--latency-ms", flags.latencyMs, { min: 0 }),
  };
}

/**
 * Says where the started simulator listens (`{baseUrl, apiKey}` as JSON, or `lines`), then
 * serves until Ctrl-C (or SIGTERM, SIGHUP) and closes it.
 */
export async function serveUntilStopped(
  ctx: cli.CliContext,
  service: { baseUrl: string; apiKey: string; close(): Promise<void> },
  json: boolean | undefined,
  lines: readonly string[],
): Promise<void> {
  // Listen for the stop signals before saying where we listen: a script may interrupt right away.
  const stopped = ctx.io.stopped;
  // The simulator's key is not a real credential: printing it is how clients learn it.
  if (json) cli.writeJson(ctx.io, { baseUrl: service.baseUrl, apiKey: service.apiKey });
  else cli.writeLines(ctx.io, ...lines);
  try {
    await stopped;
  } finally {
    await service.close();
  }
}
