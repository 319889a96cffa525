import { Command, CommanderError } from "commander";
import { describeError, NrfProvisionError } from "../errors/index.js";
import { fileSystemError } from "../files/index.js";
import * as ca from "./commands/ca.js";
import * as cloud from "./commands/cloud.js";
import * as demo from "./commands/demo.js";
import * as jwt from "./commands/jwt.js";
import * as modem from "./commands/modem.js";
import * as parse from "./commands/parse.js";
import * as ports from "./commands/ports.js";
import * as provision from "./commands/provision.js";
import * as sim from "./commands/sim.js";
import * as station from "./commands/station.js";
import type { CliContext } from "./context.js";
import { ExitCode, exitCodeForErrorCode } from "./exit-codes.js";
import { type CliIo, processIo } from "./io.js";
import { packageVersion } from "./version.js";

/** Builds the command tree. Each concern registers its own commands. */
export function buildProgram(ctx: CliContext): Command {
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
  for (const module of [ports, modem, parse, sim, ca, cloud, jwt, provision, station, demo]) {
    module.register(program, ctx);
  }
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
  const program = buildProgram(ctx);
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

function reportError(io: CliIo, thrown: unknown, json: boolean): number {
  // A file-system failure nobody wrapped is still the user's to fix, not a bug report.
  const error = isFileSystemError(thrown)
    ? fileSystemError("ERR_IO_FILE_SYSTEM", thrown.syscall ?? "use", thrown.path ?? "", thrown)
    : thrown;
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

function isFileSystemError(error: unknown): error is NodeJS.ErrnoException {
  const errno = error as NodeJS.ErrnoException | undefined;
  return (
    error instanceof Error &&
    typeof errno?.code === "string" &&
    typeof errno.syscall === "string" &&
    typeof errno.path === "string"
  );
}
