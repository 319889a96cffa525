import { resolve } from "node:path";
import type { Command } from "commander";
import type { GatherEvent, GatherSummary } from "../../provisioning/gather.js";
import * as cli from "../context.js";
import { ExitCode, exitCodeForErrorCode } from "../exit-codes.js";
import type { CliIo } from "../io.js";
import {
  addLinkOptions,
  boardFromFlags,
  type LinkCliOptions,
  type openLink,
} from "../link-options.js";

interface GatherTokensCliOptions extends LinkCliOptions {
  port: string;
  csv: string;
  keep?: boolean;
  json?: boolean;
}

/** Registers `gather-tokens`: one board's attestation token into the factory's token file. */
export function register(program: Command, ctx: cli.CliContext): void {
  const command = program
    .command("gather-tokens")
    .description(
      "Read a board's attestation token and IMEI into a token CSV (Nordic's imei,uuid,token,time rows) to claim later with `claim --csv`.",
    )
    .requiredOption("--port <path|auto>", "serial port of the board's AT interface, or auto")
    .requiredOption("--csv <file>", "token file to add the row to (created if missing)")
    .option("--keep", "keep a row already there for the same device UUID instead of replacing it")
    .option("--json", "print one JSON document");
  addLinkOptions(command).action((options: GatherTokensCliOptions) =>
    gatherTokensCommand(options, ctx),
  );
}

async function gatherTokensCommand(
  options: GatherTokensCliOptions,
  ctx: cli.CliContext,
): Promise<void> {
  const { io } = ctx;
  const board = await boardFromFlags(options, io);
  const summary = await runGatherTokens(io, {
    ports: [board.port],
    open: () => board.open(),
    file: options.csv,
    keep: options.keep === true,
    concurrency: 1,
  });
  const failure = summary.failures[0];
  if (options.json) cli.writeJson(io, { ok: failure === undefined, ...summary });
  if (failure !== undefined) {
    io.stderr.write(`error: ${failure.message} [${failure.code}]\n`);
    ctx.exitCode = exitCodeForErrorCode(failure.code);
  } else if (!options.json) {
    cli.writeLines(io, ...summary.gathered.map(describeGathered));
  }
}

/** Gathers into `file` (relative to the working directory); the provisioning module loads here. */
export async function runGatherTokens(
  io: CliIo,
  options: {
    ports: readonly string[];
    open: Parameters<typeof import("../../provisioning/gather.js").gatherTokens>[0]["open"];
    file: string;
    keep: boolean;
    concurrency: number;
    onEvent?: (event: GatherEvent) => void;
  },
): Promise<GatherSummary> {
  const { gatherTokens } = await import("../../provisioning/gather.js");
  return gatherTokens({ ...options, file: resolve(io.cwd, options.file) });
}

function describeGathered(row: GatherSummary["gathered"][number]): string {
  return `${row.port}: ${row.model} IMEI ${row.imei} UUID ${row.deviceUuid}: token ${row.action}`;
}

/**
 * `station --gather-tokens FILE`: the station's boards have their tokens gathered instead of
 * being provisioned (no CA, no journal: the file is the record). Exit 6 if any board failed.
 */
export async function gatherTokensAtStation(
  ctx: cli.CliContext,
  options: { file: string; keep: boolean; concurrency: string; jsonl?: boolean },
  boards: {
    listPorts: () => Promise<string[]>;
    open: (port: string) => ReturnType<typeof openLink>;
  },
): Promise<void> {
  const { io } = ctx;
  const concurrency = cli.parseIntegerOption("--concurrency", options.concurrency, {
    min: 1,
    max: 256,
  });
  const summary = await runGatherTokens(io, {
    ports: await boards.listPorts(),
    open: boards.open,
    file: options.file,
    keep: options.keep,
    concurrency,
    onEvent: (event) => {
      if (options.jsonl) io.stdout.write(`${JSON.stringify(event)}\n`);
      else if (event.type === "token-gathered")
        cli.writeLines(
          io,
          describeGathered({ ...event.row, port: event.port, action: event.action }),
        );
      else if (event.type === "board-failed")
        cli.writeLines(io, `${event.port}: FAILED ${event.message} [${event.code}]`);
    },
  });
  if (!options.jsonl) {
    cli.writeLines(
      io,
      `${summary.gathered.length} token(s) gathered into ${options.file}, ${summary.failures.length} board(s) failed`,
    );
  }
  ctx.exitCode = summary.failures.length > 0 ? ExitCode.PARTIAL : ExitCode.OK;
}
