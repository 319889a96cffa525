import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";
import type { Command } from "commander";
import { createCloudClient } from "../../cloud/index.js";
import {
  formatStationSummary,
  jsonlEventWriter,
  LiveView,
  type LiveViewTerminal,
  plainEventWriter,
  runStation,
  type StationEvent,
  type StationOnboardMode,
} from "../../pipeline/index.js";
import { listBoards, portListerFromEnv } from "../../serial/index.js";
import { type CliContext, parseIntegerOption, usageError, writeLines } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import type { CliIo } from "../io.js";
import { openCaWithPassphrase } from "../passphrase.js";
import {
  addBoardOptions,
  type BoardCliOptions,
  boardConnector,
  boardOptionsFrom,
  cloudSettingsFor,
} from "./provision.js";

interface StationCliOptions extends BoardCliOptions {
  ports: string;
  journal: string;
  concurrency: string;
  onboard: string;
  watch?: boolean;
  watchInterval: string;
  waitTimeout: string;
  batchSize?: string;
  jsonl?: boolean;
  store?: string;
  stationId?: string;
  claimTimeout: string;
  gatherTokens?: string;
  keep?: boolean;
}

const onboardModes: readonly StationOnboardMode[] = ["batch", "single", "none"];

/** Registers `station`: many boards in parallel, journaled and resumable (the factory). */
export function register(program: Command, ctx: CliContext): void {
  const command = program
    .command("station")
    .description(
      "Provision many boards in parallel with a crash-safe journal: a station killed at any moment and restarted finishes what was left and never re-keys or re-uploads.",
    )
    .requiredOption(
      "--ports <auto|P1,P2,…>",
      "boards' AT ports, or auto (every attached nRF91 board)",
    )
    .requiredOption(
      "--journal <file>",
      "append-only JSONL journal (resume state); keep it per station",
    )
    .option("--concurrency <n>", "boards provisioned at the same time", "8");
  addBoardOptions(command)
    .option(
      "--onboard <batch|single|none>",
      "OnboardDevices in chunks of ≤ 1000 at the end, OnboardDevice per board, or skip",
      "batch",
    )
    .option("--watch", "keep running: provision each board as it is plugged in, until Ctrl-C")
    .option("--watch-interval <ms>", "how often --watch looks for new boards", "1000")
    .option(
      "--wait-timeout <s>",
      "how long to wait for each nRF Cloud bulk job; one still running is left to the next run",
      "600",
    )
    .option(
      "--batch-size <n>",
      "rows per OnboardDevices job with --onboard batch (1-1000; on a line, a job goes out once the line has this many)",
    )
    .option("--jsonl", "one JSON event per line instead of the live view")
    .option(
      "--store <postgres://…>",
      "share the CA ledger and journal with the line in PostgreSQL (default: NRF_PROVISION_STORE, else files)",
    )
    .option("--station-id <id>", "this station's name on the line (with --store)", hostname())
    .option("--claim-timeout <s>", "a station silent this long is dead; its boards are free", "30")
    .option(
      "--gather-tokens <csv>",
      "gather each board's attestation token into this token CSV instead of provisioning (no CA, no journal)",
    )
    .option("--keep", "with --gather-tokens: keep a device's existing row instead of replacing it")
    .action((options: StationCliOptions) => stationCommand(options, ctx));
  // Gathering tokens needs neither the CA nor the journal.
  command.on("option:gather-tokens", () => {
    for (const option of command.options) {
      if (option.long === "--ca-dir" || option.long === "--journal") option.mandatory = false;
    }
  });
}

async function stationCommand(options: StationCliOptions, ctx: CliContext): Promise<void> {
  const { io } = ctx;
  if (options.gatherTokens !== undefined) {
    const connect = boardConnector(options, io);
    const { gatherTokensAtStation } = await import("./gather-tokens.js");
    const boards = {
      listPorts: portLister(options.ports, io),
      open: (port: string) => connect(port).open(),
    };
    const file = options.gatherTokens;
    return gatherTokensAtStation(ctx, { ...options, file, keep: options.keep === true }, boards);
  }
  const onboard = options.onboard as StationOnboardMode;
  if (!onboardModes.includes(onboard)) {
    throw usageError(
      `--onboard must be batch, single or none for a station, got "${options.onboard}"`,
    );
  }
  const concurrency = parseIntegerOption("--concurrency", options.concurrency, {
    min: 1,
    max: 256,
  });
  const intervalMs = parseIntegerOption("--watch-interval", options.watchInterval, { min: 50 });
  const connect = boardConnector(options, io);
  const waitTimeoutS = parseIntegerOption("--wait-timeout", options.waitTimeout, { min: 1 });
  const batchSize =
    options.batchSize === undefined
      ? undefined
      : parseIntegerOption("--batch-size", options.batchSize, { min: 1, max: 1000 });
  const board = await boardOptionsFrom(options, io);
  const cloud =
    onboard === "none"
      ? undefined
      : createCloudClient(cloudSettingsFor(options, io, `--onboard ${onboard}`));
  const listPorts = portLister(options.ports, io);

  const { store, station } = await openStationStore(options, io, onboard);
  const { journal, ca } = station;
  const { onEvent, liveView } = stationOutput(io, options);
  try {
    const summary = await runStation({
      listPorts,
      connect,
      ca,
      journal,
      board,
      onboard,
      cloud,
      concurrency,
      watch: options.watch ? { intervalMs } : undefined,
      interrupted: io.interrupted,
      bulkWait: { timeoutMs: waitTimeoutS * 1000 },
      batchSize,
      lineQueue: station.uploads,
      onEvent,
    });
    if (!options.jsonl) writeLines(io, ...formatStationSummary(summary));
    // Interrupted is how a watching station always ends: 130, as for any interrupted run.
    ctx.exitCode = summary.interrupted
      ? ExitCode.INTERRUPTED
      : summary.failed > 0
        ? ExitCode.PARTIAL
        : ExitCode.OK;
  } finally {
    liveView?.close();
    await station.close();
    await store.close();
  }
}

/** The station's journal and CA, in files or (with --store) in the line's PostgreSQL. */
async function openStationStore(
  options: StationCliOptions,
  io: CliIo,
  onboard: StationOnboardMode,
) {
  const claimTimeoutS = parseIntegerOption("--claim-timeout", options.claimTimeout, { min: 1 });
  const { openStore } = await import("../../store/open.js");
  const store = await openStore(options.store, io.env, {
    claimTimeoutMs: claimTimeoutS * 1000,
    onOutage: (event) =>
      io.stderr.write(
        event.type === "unavailable"
          ? `station: the line's database is unreachable (${event.message}); waiting for it\n`
          : "station: the line's database answers again\n",
      ),
  });
  try {
    const station = await store.openStation({
      stationId: options.stationId ?? hostname(),
      journalPath: resolve(io.cwd, options.journal),
      openCa: () => openCaWithPassphrase(io, options.caDir),
      onboarding: onboard !== "none",
    });
    return { store, station };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** A stream that may be a terminal (process.stderr is a tty.WriteStream when it is one). */
type MaybeTerminal = CliIo["stderr"] & LiveViewTerminal & { isTTY?: boolean };

/**
 * Where progress goes. Results (one line per board, or `--jsonl` events) go to stdout; the
 * live view goes to stderr when it is a terminal that can move the cursor (not `TERM=dumb`)
 * and nothing else writes there, and then stdout gets the per-board lines only if it is not
 * that terminal too. Notes (watching, stopping) go to stderr when there is no live view.
 */
function stationOutput(
  io: CliIo,
  options: StationCliOptions,
): { onEvent: (event: StationEvent) => void; liveView?: LiveView | undefined } {
  const stderr = io.stderr as MaybeTerminal;
  // The view needs stderr to itself: `--verbose` (the link options') logs AT traffic there.
  const liveView =
    !options.jsonl && !options.verbose && stderr.isTTY === true && io.env.TERM !== "dumb"
      ? new LiveView(stderr)
      : undefined;
  const results = options.jsonl
    ? jsonlEventWriter(io.stdout)
    : liveView === undefined || !io.isTTY
      ? plainEventWriter(io.stdout)
      : undefined;
  const notes = liveView === undefined ? stationNotes(io, options) : undefined;
  return {
    onEvent: (event) => {
      liveView?.handle(event);
      results?.(event);
      notes?.(event);
    },
    liveView,
  };
}

/** Without a live view: say on stderr that a watching station waits, and that it is stopping. */
function stationNotes(io: CliIo, options: StationCliOptions): (event: StationEvent) => void {
  return (event) => {
    if (event.type === "station-start" && event.watch) {
      io.stderr.write(
        `station: watching ${options.ports} for boards every ${options.watchInterval} ms; Ctrl-C stops it\n`,
      );
    } else if (event.type === "station-stopping") {
      const finishing =
        event.boardsInProgress > 0
          ? `${event.boardsInProgress} board(s) in progress finish, then `
          : "";
      io.stderr.write(
        `station: stopping: ${finishing}queued onboarding is uploaded (Ctrl-C again stops at once; the journal keeps the rest)\n`,
      );
    }
  };
}

/**
 * `auto`: every attached nRF91 board's AT port, looked up again on each call (for --watch).
 * A list: those ports; with --watch, the ones whose device node exists right now.
 */
function portLister(ports: string, io: CliIo): () => Promise<string[]> {
  if (ports === "auto") {
    const lister = portListerFromEnv(io.env);
    return async () => (await listBoards({ lister })).boards.map((board) => board.atPort);
  }
  const listed = ports
    .split(",")
    .map((port) => port.trim())
    .filter(Boolean)
    .map((port) => (/^COM\d+$/i.test(port) ? port : resolve(io.cwd, port)));
  if (listed.length === 0) throw usageError("--ports needs auto or at least one port");
  return async () => listed.filter((port) => /^COM\d+$/i.test(port) || existsSync(port));
}
