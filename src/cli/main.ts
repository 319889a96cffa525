import { Command, CommanderError, Help, type Option } from "commander";
import { describeError, NrfProvisionError } from "../errors/index.js";
import type { CliContext } from "./context.js";
import { ExitCode, exitCodeForErrorCode } from "./exit-codes.js";
import { type CliIo, type CliIoOverrides, processIo } from "./io.js";
import { packageVersion } from "./version.js";

/** Help is wrapped at this width (or the terminal's, when narrower). */
export const HELP_WIDTH = 100;
/** Option and command names wider than this go on a line of their own in the help. */
const HELP_TERM_COLUMN = 34;

/**
 * Help text: wrapped at {@link HELP_WIDTH} even when an option's name is long (its description
 * then starts on the next line), and options the command cannot run without marked "(required)".
 */
function helpConfiguration(width: number) {
  return {
    helpWidth: width,
    optionDescription(this: Help, option: Option): string {
      const text = Help.prototype.optionDescription.call(this, option);
      return option.mandatory ? `${text} (required)` : text;
    },
    formatItem(this: Help, term: string, termWidth: number, description: string, helper: Help) {
      const column = Math.min(termWidth, HELP_TERM_COLUMN);
      if (term.length <= column || !description) {
        return Help.prototype.formatItem.call(this, term, column, description, helper);
      }
      const indent = " ".repeat(2 + column + 2);
      const wrapped = helper.boxWrap(description, width - indent.length);
      return `  ${term}\n${indent}${wrapped.replace(/\n/g, `\n${indent}`)}`;
    },
  };
}

export interface CommandModule {
  register(program: Command, ctx: CliContext): void;
}

/**
 * Each top-level command's module, in help order. Start-up is part of the interface: a run
 * loads only the module of the command it names (none for --version, all for the overview
 * help or an unknown command), and each module loads what its actions need.
 */
const commandModules: Record<string, () => Promise<CommandModule>> = {
  ports: () => import("./commands/ports.js"),
  modem: () => import("./commands/modem.js"),
  parse: () => import("./commands/parse.js"),
  sim: () => import("./commands/sim.js"),
  ca: () => import("./commands/ca.js"),
  cloud: () => import("./commands/cloud.js"),
  jwt: () => import("./commands/jwt.js"),
  provision: () => import("./commands/provision.js"),
  "provision-remote": () => import("./commands/provision-remote.js"),
  station: () => import("./commands/station.js"),
  line: () => import("./commands/line.js"),
  "gather-tokens": () => import("./commands/gather-tokens.js"),
  claim: () => import("./commands/claim.js"),
  demo: () => import("./commands/demo.js"),
};

/** Every command module, in help order (the overview help, tests). */
export function allCommandModules(): Promise<CommandModule[]> {
  return Promise.all(Object.values(commandModules).map((loadModule) => loadModule()));
}

/**
 * The overview help (`nrf-provision --help`, or no command) as each module describes its
 * command, so that it needs none of them. test/cli/help.test.ts holds it equal, line for line,
 * to the help the modules themselves produce.
 */
const overview: ReadonlyArray<{ name: string; term: string; description: string }> = [
  {
    name: "ports",
    term: "ports [options]",
    description: "List attached nRF91 boards with their serial number and AT port",
  },
  {
    name: "modem",
    term: "modem",
    description: "Talk to an nRF91 modem: identity, key generation, credentials, JWTs",
  },
  {
    name: "parse",
    term: "parse",
    description: "Decode and check %KEYGEN / %ATTESTTOKEN output copied from a modem.",
  },
  {
    name: "sim",
    term: "sim",
    description: "Run simulators (an nRF91 board, nRF Cloud) for rehearsals and tests.",
  },
  {
    name: "ca",
    term: "ca",
    description:
      "Local certificate authority: create it, issue device certificates, query its ledger.",
  },
  {
    name: "cloud",
    term: "cloud",
    description:
      "nRF Cloud REST API: onboard devices, register keys/certificates, device state, bulk operations. API key from NRF_CLOUD_API_KEY or --api-key; base URL from NRF_CLOUD_BASE_URL or --base-url.",
  },
  {
    name: "jwt",
    term: "jwt",
    description:
      "Software device keys and ES256 device JWTs for nRF Cloud (test devices, load tests).",
  },
  {
    name: "provision",
    term: "provision [options]",
    description:
      "Provision one board: KEYGEN in the modem, certificate from the local CA, root CA + certificate written and verified, onboarded on nRF Cloud.",
  },
  {
    name: "provision-remote",
    term: "provision-remote [options]",
    description:
      "Claim one nRF91x1 board by its attestation token and provision it through nRF Cloud's Provisioning Service (the device makes its key and writes its credentials), with a certificate from the local CA.",
  },
  {
    name: "station",
    term: "station [options]",
    description:
      "Provision many boards in parallel with a crash-safe journal: a station killed at any moment and restarted finishes what was left and never re-keys or re-uploads.",
  },
  {
    name: "line",
    term: "line",
    description:
      "The production line in PostgreSQL: stations and boards (status), the audit trail (export), the schema (db).",
  },
  {
    name: "gather-tokens",
    term: "gather-tokens [options]",
    description:
      "Read a board's attestation token and IMEI into a token CSV (Nordic's imei,uuid,token,time rows) to claim later with `claim --csv`.",
  },
  {
    name: "claim",
    term: "claim [options]",
    description:
      "Claim devices on nRF Cloud's Provisioning Service by attestation token: one (--token) or a token CSV from gather-tokens (--csv), with a dry run first.",
  },
  {
    name: "demo",
    term: "demo [options]",
    description:
      "Run the real provisioning pipeline against a simulated nRF91 and a simulated nRF Cloud (no hardware, no network), then use a device JWT.",
  },
];

/** Registers the overview's stand-ins: names and descriptions only, for the root's help. */
const overviewModule: CommandModule = {
  register(program) {
    const terms = new Map(overview.map((command) => [command.name, command.term]));
    for (const { name, description } of overview) program.command(name).description(description);
    const help = program.configureHelp();
    program.configureHelp({
      ...help,
      subcommandTerm: (command: Command) =>
        terms.get(command.name()) ?? Help.prototype.subcommandTerm.call(new Help(), command),
    });
  },
};

/**
 * The command modules a run with `argv` needs: the one it names; none for --version; the
 * overview's stand-ins when it names none; every module for a name that is none of them (so
 * that commander can say which command was meant).
 */
export function commandModulesFor(argv: readonly string[]): Promise<CommandModule[]> {
  const name = argv.find((arg) => !arg.startsWith("-"));
  const load = name === undefined ? undefined : commandModules[name];
  if (load) return Promise.all([load()]);
  if (name === undefined && argv.some((arg) => arg === "-V" || arg === "--version")) {
    return Promise.resolve([]);
  }
  if (name === undefined) return Promise.resolve([overviewModule]);
  return allCommandModules();
}

/** Builds the command tree from the given command modules; each registers its own commands. */
export function buildProgram(ctx: CliContext, modules: readonly CommandModule[]): Command {
  const columns = (ctx.io.stdout as { columns?: number }).columns;
  const help = helpConfiguration(
    Math.min(HELP_WIDTH, ctx.io.isTTY && columns ? columns : HELP_WIDTH),
  );
  const output = {
    writeOut: (text: string) => ctx.io.stdout.write(text),
    writeErr: (text: string) => ctx.io.stderr.write(text),
  };
  const program = new Command("nrf-provision")
    .description(
      "Provision nRF91-series modems for nRF Cloud: keys, certificates, onboarding, JWTs.",
    )
    .version(packageVersion, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .configureHelp(help)
    .configureOutput(output)
    .exitOverride();
  for (const module of modules) module.register(program, ctx);
  // Sub-commands inherit output and help settings and must not call process.exit either.
  // Every command takes --verbose: at least for the stack of an unexpected error.
  const harden = (command: Command) => {
    for (const sub of command.commands) {
      sub.exitOverride().configureOutput(output).configureHelp(help);
      const leaf = sub.commands.length === 0;
      if (leaf && !sub.options.some((option) => option.long === "--verbose")) {
        sub.option("--verbose", "print the stack of an unexpected error");
      }
      harden(sub);
    }
  };
  harden(program);
  return program;
}

/**
 * Runs the CLI with `argv` (without `node` and the script path) and returns the exit code.
 * Never calls `process.exit`, so tests run it in-process. Without an injected `interrupted`,
 * SIGINT/SIGTERM listeners are installed only if a command waits for an interruption, and are
 * removed when the run ends.
 */
export async function runCli(argv: string[], ioOverrides: CliIoOverrides = {}): Promise<number> {
  const { io, dispose } = processIo(ioOverrides);
  const ctx: CliContext = { io, exitCode: ExitCode.OK };
  const program = buildProgram(ctx, await commandModulesFor(argv));
  const wantsJson = argv.includes("--json") || argv.includes("--jsonl");
  try {
    await program.parseAsync(argv, { from: "user" });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return exitCodeForCommander(error);
    return await reportError(io, error, {
      json: wantsJson,
      verbose: argv.includes("--verbose"),
    });
  } finally {
    dispose();
  }
}

/**
 * Help asked for (`--help`, `help`) and the version exit 0. Help shown because a command was
 * missing (`nrf-provision`, `nrf-provision cloud`) is a usage error, like every other
 * mistake commander catches.
 */
function exitCodeForCommander(error: CommanderError): ExitCode {
  if (error.code === "commander.helpDisplayed" || error.code === "commander.version") {
    return ExitCode.OK;
  }
  if (error.code === "commander.help" && error.exitCode === 0) return ExitCode.OK;
  return ExitCode.USAGE;
}

/**
 * One line on stderr (and the JSON document with `--json`). An error that is not an
 * NrfProvisionError (nor a file-system error) is a bug: it is reported as `ERR_UNEXPECTED`, its
 * stack only with --verbose.
 */
async function reportError(
  io: CliIo,
  thrown: unknown,
  options: { json: boolean; verbose: boolean },
): Promise<number> {
  // A file-system failure nobody wrapped is still the user's to fix, not a bug report.
  // src/files (and the node:crypto it brings) is loaded only then, not at every start-up.
  const error = isFileSystemError(thrown)
    ? (await import("../files/index.js")).fileSystemError(
        "ERR_IO_FILE_SYSTEM",
        thrown.syscall ?? "use",
        thrown.path ?? "",
        thrown,
      )
    : thrown;
  const known = error instanceof NrfProvisionError;
  const body = known
    ? error.toJSON()
    : { name: "Error", code: "ERR_UNEXPECTED", message: describeError(error), details: {} };
  if (options.json) io.stdout.write(`${JSON.stringify({ ok: false, error: body }, null, 2)}\n`);
  if (known) {
    io.stderr.write(`error: ${body.message} [${body.code}]\n`);
  } else {
    const next = options.verbose
      ? ""
      : " (a bug in nrf-provision: run again with --verbose for the details, and report it)";
    io.stderr.write(`error: unexpected: ${oneLine(body.message)}${next} [ERR_UNEXPECTED]\n`);
    if (options.verbose && error instanceof Error && error.stack)
      io.stderr.write(`${error.stack}\n`);
  }
  return exitCodeForErrorCode(body.code);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ");
}

function isFileSystemError(error: unknown): error is NodeJS.ErrnoException {
  const errno = error as NodeJS.ErrnoException | undefined;
  return (
    error instanceof Error &&
    typeof errno?.code === "string" &&
    typeof errno.syscall === "string" &&
    typeof errno.path === "string"
  );
}
