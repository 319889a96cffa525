import type { Command } from "commander";
import { type CliContext, writeJson, writeLines } from "../context.js";
import { ExitCode } from "../exit-codes.js";

interface DemoCliOptions {
  keep?: boolean;
  json?: boolean;
  verbose?: boolean;
}

/** Registers `demo`: the whole job against simulators, no hardware, no network. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("demo")
    .description(
      "Run the real provisioning pipeline against a simulated nRF91 and a simulated nRF Cloud (no hardware, no network), then use a device JWT.",
    )
    .option("--keep", "keep the temporary directory (throwaway CA and its ledger)")
    .option("--verbose", "tell each step as it happens, then the full report")
    .option("--json", "print one JSON document")
    .action((options: DemoCliOptions) => demoCommand(options, ctx));
}

async function demoCommand(options: DemoCliOptions, ctx: CliContext): Promise<void> {
  const { io } = ctx;
  const { demoHeadline, formatDemoSummary, formatProvisionSummary, runDemo } = await import(
    "../../pipeline/index.js"
  );
  const verbose = options.verbose === true && options.json !== true;
  if (!options.json && !verbose) writeLines(io, demoHeadline);
  // Ctrl-C, SIGTERM or a closed terminal: the demo removes what it started, then exits 130.
  const stop = new AbortController();
  io.stopped.then(() => stop.abort());
  try {
    const report = await runDemo({
      log: verbose ? (line: string) => writeLines(io, line) : undefined,
      keep: options.keep === true,
      signal: stop.signal,
    });
    if (options.json) writeJson(io, { ok: true, ...report });
    else if (verbose) {
      // The step times were told as they happened: not again in the summary.
      writeLines(io, "", ...formatProvisionSummary(report.provision, { steps: false }));
      if (report.kept) writeLines(io, `kept ${report.workDir}`);
    } else writeLines(io, ...formatDemoSummary(report));
  } catch (error) {
    if (!stop.signal.aborted) throw error;
    io.stderr.write(
      "demo: interrupted; its simulated board, simulated nRF Cloud and temporary files are removed\n",
    );
    ctx.exitCode = ExitCode.INTERRUPTED;
  }
}
