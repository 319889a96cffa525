import type { Command } from "commander";
import { checkDashboardExposure, startDashboard } from "../../line/dashboard/index.js";
import { LineError } from "../../line/errors.js";
import type { LineStatus } from "../../line/status.js";
import { type CliContext, parseIntegerOption, usageError, writeLines } from "../context.js";

/** The environment variables `line dashboard` reads (a token in argv shows in `ps`). */
export const STORE_ENV = "NRF_PROVISION_STORE";
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
      ...(token === undefined ? {} : { token }),
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

/** What this command needs of src/store (the shared store, PostgreSQL). */
interface StoreModule {
  openStore(url: string): Promise<{ close?(): Promise<void> }>;
  readLineStatus(store: unknown): Promise<LineStatus>;
}

/**
 * The line's status from the shared store at `url`. The store is loaded only here and only
 * when the command runs (`pg` is not needed by anything else this command does).
 */
export async function openLineStatusSource(url: string): Promise<LineStatusSource> {
  const specifier = "../../store/index.js";
  let module: StoreModule;
  try {
    module = (await import(specifier)) as StoreModule;
  } catch (error) {
    throw new LineError(
      "ERR_LINE_STORE_UNAVAILABLE",
      "This build of nrf-provision has no shared store (src/store) to read the line from; install a version with `line db`.",
      { cause: error },
    );
  }
  const store = await module.openStore(url);
  return {
    readStatus: () => module.readLineStatus(store),
    close: async () => {
      await store.close?.();
    },
  };
}
