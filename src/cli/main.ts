import { Command, CommanderError } from "commander";
import { describeError, NrfProvisionError } from "../errors/index.js";
import type { CliContext } from "./context.js";
import { ExitCode, exitCodeForErrorCode } from "./exit-codes.js";
import { type CliIo, processIo } from "./io.js";
import { packageVersion } from "./version.js";

interface CommandModule {
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
  station: () => import("./commands/station.js"),
  demo: () => import("./commands/demo.js"),
};

/** The command modules a run with `argv` needs. */
function commandModulesFor(argv: readonly string[]): Promise<CommandModule[]> {
  const name = argv.find((arg) => !arg.startsWith("-"));
  const load = name === undefined ? undefined : commandModules[name];
  if (load) return Promise.all([load()]);
  if (name === undefined && argv.some((arg) => arg === "-V" || arg === "--version")) {
    return Promise.resolve([]);
  }
  return Promise.all(Object.values(commandModules).map((loadModule) => loadModule()));
}

/** Builds the command tree from the given command modules; each registers its own commands. */
export function buildProgram(ctx: CliContext, modules: readonly CommandModule[]): Command {
  const program = new Command("nrf-provision")
    .description(
      "Provision nRF91-series modems for nRF Cloud: keys, certificates, onboarding, JWTs.",
    )
    .version(packageVersion, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({
      writeOut: (text) => ctx.io.stdout.write(text),
      writeErr: (text) => ctx.io.stderr.write(text),
    })
    .exitOverride();
  for (const module of modules) module.register(program, ctx);
  // Sub-commands inherit output settings and must not call process.exit either.
  const harden = (command: Command) => {
    for (const sub of command.commands) {
      sub.exitOverride().configureOutput({
        writeOut: (text) => ctx.io.stdout.write(text),
        writeErr: (text) => ctx.io.stderr.write(text),
      });
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
export async function runCli(argv: string[], ioOverrides: Partial<CliIo> = {}): Promise<number> {
  const { io, dispose } = processIo(ioOverrides);
  const ctx: CliContext = { io, exitCode: ExitCode.OK };
  const program = buildProgram(ctx, await commandModulesFor(argv));
  const wantsJson = argv.includes("--json") || argv.includes("--jsonl");
  try {
    await program.parseAsync(argv, { from: "user" });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") {
        return ExitCode.OK;
      }
      if (error.code === "commander.help") return ExitCode.OK;
      return ExitCode.USAGE;
    }
    return reportError(io, error, wantsJson);
  } finally {
    dispose();
  }
}

function reportError(io: CliIo, error: unknown, json: boolean): number {
  const exit =
    error instanceof NrfProvisionError ? exitCodeForErrorCode(error.code) : ExitCode.FAILURE;
  if (json) {
    const body =
      error instanceof NrfProvisionError
        ? error.toJSON()
        : { name: "Error", code: "ERR_UNEXPECTED", message: describeError(error), details: {} };
    io.stdout.write(`${JSON.stringify({ ok: false, error: body }, null, 2)}\n`);
  }
  if (error instanceof NrfProvisionError) {
    io.stderr.write(`error: ${error.message} [${error.code}]\n`);
  } else {
    // An unexpected failure is a bug in nrf-provision: keep the stack for the report.
    io.stderr.write(
      `unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  return exit;
}
