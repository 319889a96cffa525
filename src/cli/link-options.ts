import { type Command, Option } from "commander";
import {
  type AtClient,
  type AtClientOptions,
  type AtTerminator,
  openAtClient,
} from "../at/index.js";
import type { BoardConnection } from "../pipeline/index.js";
import {
  openSerialTransport,
  portListerFromEnv,
  resolvePort,
  type SerialTransportOptions,
} from "../serial/index.js";
import { parseIntegerOption } from "./context.js";
import type { CliIo } from "./io.js";

// How the host talks to a board over its serial link. Every command that opens a board
// (`provision`, `station`, `modem …`) takes these same flags, defined here once.

/** The link flags as commander parses them. */
export interface LinkCliOptions {
  baud: string;
  rtscts: boolean;
  terminator: "cr" | "lf" | "crlf";
  mode: "auto" | "at" | "shell";
  timeoutMs?: string;
  verbose?: boolean;
}

/** The link flags turned into what the serial transport and the AT client take. */
export interface LinkSettings {
  serial: SerialTransportOptions;
  at: AtClientOptions;
}

const terminators: Record<LinkCliOptions["terminator"], AtTerminator> = {
  cr: "\r",
  lf: "\n",
  crlf: "\r\n",
};

/** Adds `--baud`, `--no-rtscts`, `--terminator`, `--mode`, `--timeout-ms` and `--verbose`. */
export function addLinkOptions(command: Command): Command {
  return command
    .option("--baud <rate>", "baud rate of the serial port", "115200")
    .option("--no-rtscts", "disable RTS/CTS hardware flow control")
    .addOption(
      new Option("--terminator <kind>", "command terminator the firmware expects")
        .choices(["cr", "lf", "crlf"])
        .default("crlf"),
    )
    .addOption(
      new Option("--mode <mode>", "plain AT or shell (Modem Shell) firmware; auto probes")
        .choices(["auto", "at", "shell"])
        .default("auto"),
    )
    .option(
      "--timeout-ms <ms>",
      "timeout of ordinary AT commands (key generation keeps 60 s, credential writes 20 s)",
    )
    .option("--verbose", "log the AT traffic to stderr (and the stack of an unexpected error)");
}

/** Validates the link flags (usage errors name the flag) and turns them into settings. */
export function linkSettingsFrom(options: LinkCliOptions): LinkSettings {
  const baudRate = parseIntegerOption("--baud", options.baud, { min: 1 });
  const timeoutMs =
    options.timeoutMs === undefined
      ? undefined
      : parseIntegerOption("--timeout-ms", options.timeoutMs, { min: 1 });
  return {
    serial: { baudRate, rtscts: options.rtscts },
    at: {
      mode: options.mode,
      terminator: terminators[options.terminator],
      defaultTimeoutMs: timeoutMs,
    },
  };
}

/** Opens the port with `settings` and an AT session on it (closed again if the session fails). */
export async function openLink(
  port: string,
  settings: LinkSettings,
  log?: (line: string) => void,
): Promise<AtClient> {
  // The modem layer loads only for --verbose: `provision` opens its board before loading it.
  const redact =
    log === undefined ? undefined : (await import("../modem/index.js")).redactAtCommandForLog;
  const transport = await openSerialTransport(port, settings.serial);
  // openAtClient closes the transport itself when it fails.
  return openAtClient(transport, {
    ...settings.at,
    ...(log === undefined || redact === undefined
      ? {}
      : {
          // Private keys and PSKs written with %CMNG never reach a log, sent or echoed.
          log: (direction, text) => log(`${direction === "tx" ? ">>" : "<<"} ${redact(text)}`),
        }),
  });
}

/**
 * The AT traffic logger `--verbose` asks for: one line per frame on stderr, or none. `prefix`
 * (e.g. the port) keeps the traffic of several boards apart.
 */
export function trafficLog(
  options: { verbose?: boolean },
  io: CliIo,
  prefix = "",
): ((line: string) => void) | undefined {
  if (!options.verbose) return undefined;
  return (line) => io.stderr.write(`${prefix}${line}\n`);
}

/**
 * The board `--port` names (a path, or one of the boards the system lists), opened with the link
 * flags and the `--verbose` log; `at` adds AT client options of the command's own.
 */
export async function boardFromFlags(
  options: LinkCliOptions & { port: string },
  io: CliIo,
  at: Partial<AtClientOptions> = {},
): Promise<BoardConnection> {
  const settings = linkSettingsFrom(options);
  const port = await resolvePort(options.port, { lister: portListerFromEnv(io.env) });
  return serialBoard(port, { ...settings, at: { ...settings.at, ...at } }, trafficLog(options, io));
}

/** A board on a serial port for the pipeline: a fresh link with `settings` on every open. */
export function serialBoard(
  port: string,
  settings: LinkSettings,
  log?: (line: string) => void,
): BoardConnection {
  return { port, open: () => openLink(port, settings, log) };
}
