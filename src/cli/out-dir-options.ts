import type { Command } from "commander";

// Commands that write files into a directory (`modem keygen`, `cloud create-cert`) take the same
// two options: where, and whether existing files there may be replaced.

/** Adds `--out-dir <dir>` (what the command writes there) and `--force`. */
export function addOutDirOptions(command: Command, outDirHelp: string): Command {
  return command
    .option("--out-dir <dir>", outDirHelp)
    .option("--force", "replace existing --out-dir files (never a symbolic link)");
}
