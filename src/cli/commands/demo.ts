import type { Command } from "commander";
import { type CliContext, writeJson, writeLines } from "../context.js";

/** Registers `demo`: the whole job against simulators, no hardware, no network. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("demo")
    .description(
      "Run the real provisioning pipeline against a simulated nRF91 and a simulated nRF Cloud (no hardware, no network), then use a device JWT.",
    )
    .option("--keep", "keep the temporary directory (throwaway CA and its ledger)")
    .option("--json", "print one JSON document")
    .action(async (options: { keep?: boolean; json?: boolean }) => {
      const { io } = ctx;
      const { formatProvisionSummary, runDemo } = await import("../../pipeline/index.js");
      const report = await runDemo({
        ...(options.json ? {} : { log: (line) => writeLines(io, line) }),
        keep: options.keep === true,
      });
      if (options.json) {
        writeJson(io, { ok: true, ...report });
        return;
      }
      writeLines(io, "", ...formatProvisionSummary(report.provision));
      if (report.kept) writeLines(io, `kept ${report.workDir}`);
    });
}
