import type { Command } from "commander";
import { checkDashboardExposure, startDashboard } from "../../line/dashboard/index.js";
import type { LineStatus } from "../../line/status.js";
import { STORE_ENV } from "../../store/open.js";
import { type CliContext, parseIntegerOption, usageError, writeLines } from "../context.js";

/** The environment variable `line dashboard` reads its token from (a token in argv shows in `ps`). */
export const DASHBOARD_TOKEN_ENV = "NRF_PROVISION_DASHBOARD_TOKEN";

interface DashboardFlags {
  store?: string;
  port: string;
  host?: string;
  token?: string;
  pollMs: string;
}

/** A source of line pictures and how to let go of it. */
export interface LineStatusSource {
  readStatus(): Promise<LineStatus>;
  close(): Promise<void>;
}

/**
 * Registers `line dashboard` on the `line` command (which src/cli/commands/line.ts creates).
 * `openSource` reads the line from the store at `--store` (tests pass their own line).
 */
export function registerLineDashboard(
  line: Command,
  ctx: CliContext,
  openSource: (url: string) => Promise<LineStatusSource> = openLineStatusSource,
): Command {
  return line
    .command("dashboard")
    .description(
      "Serve a live, read-only view of the line in the browser: stations, boards and their steps, throughput, failures.",
    )
    .option("--store <url>", `the line's store, postgres://… (default: ${STORE_ENV})`)
    .option("--port <n>", "TCP port", "8080")
    .option("--host <address>", "listen address (default 127.0.0.1); any other needs --token")
    .option(
      "--token <secret>",
      `secret every request must carry, as ?token= or Authorization: Bearer (or ${DASHBOARD_TOKEN_ENV})`,
    )
    .option("--poll-ms <n>", "how often the store is read", "1000")
    .action((flags: DashboardFlags) => dashboardCommand(ctx, flags, openSource));
}

async function dashboardCommand(
  ctx: CliContext,
  flags: DashboardFlags,
  openSource: (url: string) => Promise<LineStatusSource>,
): Promise<void> {
  const { io } = ctx;
  const url = flags.store ?? io.env[STORE_ENV];
  if (url === undefined || url === "") {
    throw usageError(`line dashboard needs --store postgres://… (or ${STORE_ENV})`);
  }
  const port = parseIntegerOption("--port", flags.port, { min: 0, max: 65535 });
  const pollIntervalMs = parseIntegerOption("--poll-ms", flags.pollMs, { min: 100 });
  const host = flags.host ?? "127.0.0.1";
  const token = flags.token ?? io.env[DASHBOARD_TOKEN_ENV];
  // Refused before the store is opened: nothing is exposed by mistake, nothing to undo.
  checkDashboardExposure(host, token);
  const source = await openSource(url);
  try {
    const dashboard = await startDashboard({
      readStatus: () => source.readStatus(),
      pollIntervalMs,
      host,
      port,
      token,
    });
    writeLines(io, `Line dashboard on ${dashboard.url}`, "Press Ctrl-C to stop.");
    try {
      await io.stopped;
    } finally {
      await dashboard.close();
    }
  } finally {
    await source.close();
  }
}

/**
 * The line's status from the shared store at `url`. The store (and `pg`) is loaded only here,
 * when the command runs.
 */
export async function openLineStatusSource(url: string): Promise<LineStatusSource> {
  const { openLineStore } = await import("../../store/open.js");
  const store = await openLineStore(url);
  return { readStatus: () => store.readLineStatus(), close: () => store.close() };
}
