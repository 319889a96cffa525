import type { Command } from "commander";
import type { LineStatus } from "../../line/status.js";
import type { ExportedDevice, PgStore } from "../../store/index.js";
import * as cli from "../context.js";
import { ExitCode } from "../exit-codes.js";
import type { CliIo } from "../io.js";
import { registerLineDashboard } from "./line-dashboard.js";

interface StoreCliOptions {
  store?: string;
  claimTimeout: string;
}

const STORE_FLAGS = "--store <postgres://…>";
const STORE_HELP = "the line's PostgreSQL (default: NRF_PROVISION_STORE)";

/**
 * Registers `line`: the production line's shared state in PostgreSQL (status, export, db).
 * `line dashboard` (the live page) is registered next to these, from its own module.
 */
export function register(program: Command, ctx: cli.CliContext): void {
  const line = program
    .command("line")
    .description(
      "The production line in PostgreSQL: stations and boards (status), the audit trail (export), the schema (db).",
    );
  line
    .command("status")
    .description(
      "Stations (alive, in progress, done, failed, rate) and recent failures with their reasons.",
    )
    .option(STORE_FLAGS, STORE_HELP)
    .option("--claim-timeout <s>", "a station silent this long is shown as not alive", "30")
    .option("--json", "print the status as one JSON document")
    .action((options: StoreCliOptions & { json?: boolean }) => statusCommand(options, ctx));
  line
    .command("export")
    .description(
      "Every device: IMEI, UUID, certificate serial and fingerprint, issuing station, onboarding state.",
    )
    .option(STORE_FLAGS, STORE_HELP)
    .option("--csv", "comma-separated values with a header line")
    .option("--jsonl", "one JSON object per device")
    .option("--since <ISO time>", "only devices changed at or after this time")
    .action((options: StoreCliOptions & ExportCliOptions) => exportCommand(options, ctx));
  const db = line
    .command("db")
    .description("The line's database schema: apply migrations, check them.");
  db.command("migrate")
    .description(
      "Apply the schema migrations the database lacks (idempotent; recorded in schema_migrations).",
    )
    .option(STORE_FLAGS, STORE_HELP)
    .action((options: StoreCliOptions) => migrateCommand(options, ctx));
  db.command("check")
    .description("Say whether the database schema is current (exit 7 when migrations are missing).")
    .option(STORE_FLAGS, STORE_HELP)
    .option("--json", "print the schema state as JSON")
    .action((options: StoreCliOptions & { json?: boolean }) => checkCommand(options, ctx));
  registerLineDashboard(line, ctx);
}

async function withStore<T>(
  options: StoreCliOptions,
  io: CliIo,
  work: (store: PgStore) => Promise<T>,
): Promise<T> {
  const { openLineStore } = await import("../../store/open.js");
  const claimTimeoutS = cli.parseIntegerOption("--claim-timeout", options.claimTimeout ?? "30", {
    min: 1,
  });
  const store = await openLineStore(options.store, io.env, {
    claimTimeoutMs: claimTimeoutS * 1000,
    retryForMs: 10_000,
  });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

async function migrateCommand(options: StoreCliOptions, ctx: cli.CliContext): Promise<void> {
  await withStore(options, ctx.io, async (store) => {
    const applied = await store.migrate();
    cli.writeLines(
      ctx.io,
      applied.length === 0
        ? `line db: ${store.location} is current; nothing to apply`
        : `line db: applied ${applied.map((m) => m.name).join(", ")} to ${store.location}`,
    );
  });
}

async function checkCommand(
  options: StoreCliOptions & { json?: boolean },
  ctx: cli.CliContext,
): Promise<void> {
  await withStore(options, ctx.io, async (store) => {
    const state = await store.checkSchema();
    if (options.json) {
      cli.writeJson(ctx.io, {
        current: state.current,
        applied: state.applied,
        pending: state.pending.map((m) => m.name),
      });
    } else if (state.current) {
      cli.writeLines(
        ctx.io,
        `line db: ${store.location} is current (migrations ${state.applied.join(", ")})`,
      );
    } else {
      cli.writeLines(
        ctx.io,
        `line db: ${store.location} lacks ${state.pending.map((m) => m.name).join(", ")}; run "nrf-provision line db migrate"`,
      );
    }
    if (!state.current) ctx.exitCode = ExitCode.STORE;
  });
}

async function statusCommand(
  options: StoreCliOptions & { json?: boolean },
  ctx: cli.CliContext,
): Promise<void> {
  const status = await withStore(options, ctx.io, (store) => store.readLineStatus());
  if (options.json) cli.writeJson(ctx.io, status);
  else cli.writeLines(ctx.io, ...formatLineStatus(status));
}

/** `line status` as text: one line per station, the totals, the recent failures. */
export function formatLineStatus(status: LineStatus): string[] {
  const lines = [`line at ${status.generatedAt}`];
  for (const s of status.stations) {
    lines.push(
      `station ${s.id} (${s.host} pid ${s.pid}): ${s.alive ? "alive" : "not running"}${s.revoked ? ", REVOKED" : ""}; ${s.inProgress} in progress, ${s.done} done, ${s.failed} failed, ${s.ratePerMinute.toFixed(1)}/min`,
    );
  }
  const { line } = status;
  lines.push(
    `line: ${line.inProgress} in progress, ${line.done} done, ${line.failed} failed, ${line.ratePerMinute.toFixed(1)}/min`,
  );
  if (status.failures.length > 0) lines.push("recent failures:");
  for (const f of status.failures.slice(0, 20)) {
    lines.push(`  ${f.at} ${f.station} ${f.deviceId} ${f.step}: ${f.code}: ${f.message}`);
  }
  return lines;
}

interface ExportCliOptions {
  csv?: boolean;
  jsonl?: boolean;
  since?: string;
}

async function exportCommand(
  options: StoreCliOptions & ExportCliOptions,
  ctx: cli.CliContext,
): Promise<void> {
  if (options.csv === options.jsonl)
    throw cli.usageError("line export needs exactly one of --csv or --jsonl");
  const since = options.since === undefined ? undefined : new Date(options.since);
  if (since !== undefined && Number.isNaN(since.getTime())) {
    throw cli.usageError(
      `--since must be an ISO 8601 time (e.g. 2026-12-01T08:00:00Z), got "${options.since}"`,
    );
  }
  const devices = await withStore(options, ctx.io, (store) => store.exportDevices(since));
  if (options.jsonl) {
    for (const device of devices) ctx.io.stdout.write(`${JSON.stringify(device)}\n`);
    return;
  }
  ctx.io.stdout.write(`${EXPORT_COLUMNS.join(",")}\n`);
  for (const device of devices) {
    ctx.io.stdout.write(`${EXPORT_COLUMNS.map((column) => csvField(device[column])).join(",")}\n`);
  }
}

const EXPORT_COLUMNS: ReadonlyArray<keyof ExportedDevice> = [
  "deviceId",
  "imei",
  "uuid",
  "serialNumber",
  "sha256Fingerprint",
  "issuingStation",
  "issuerFingerprint",
  "stationRevoked",
  "state",
  "onboarding",
  "updatedAt",
];

/** RFC 4180: quoted when it holds a comma, quote or line break; a leading = + - @ is defused. */
function csvField(value: string | boolean | null): string {
  if (value === null) return "";
  let text = String(value);
  if (/^[=+\-@]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
