import type { Command } from "commander";
import {
  type DiscoveredBoard,
  listBoards,
  type OtherUsbDevice,
  portListerFromEnv,
} from "../../serial/index.js";
import { type CliContext, writeJson, writeLines } from "../context.js";

/** Left-aligned text columns. */
function table(rows: string[][]): string[] {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd(),
  );
}

function boardRow(board: DiscoveredBoard): string[] {
  return [board.model, board.serialNumber, board.atPort, board.ports.slice(1).join(" ") || "-"];
}

function otherRow(device: OtherUsbDevice): string[] {
  return [`${device.model} (not nRF91)`, device.serialNumber, "-", device.ports.join(" ")];
}

/** Registers `nrf-provision ports`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("ports")
    .description("List attached nRF91 boards with their serial number and AT port")
    .option("--all", "also show other Nordic kits and J-Link probes (skipped for provisioning)")
    .option("--json", "print a JSON array")
    .addHelpText(
      "after",
      "\nPorts come from the OS (udev on Linux). Without udevadm, sysfs and /dev/serial/by-id are\n" +
        "read instead; NRF_PROVISION_SYSFS_ROOT=<dir> reads a sysfs tree under <dir> only.",
    )
    .action(async (options: { all?: boolean; json?: boolean }) => {
      const { boards, others } = await listBoards({
        all: options.all,
        lister: portListerFromEnv(ctx.io.env),
      });
      if (options.json) {
        writeJson(ctx.io, [
          ...boards.map((board) => ({ nrf91: true, ...board })),
          ...others.map((device) => ({ nrf91: false, ...device })),
        ]);
        return;
      }
      if (boards.length === 0 && others.length === 0) {
        writeLines(
          ctx.io,
          options.all
            ? "No nRF91 boards, Nordic kits or J-Link probes found."
            : "No nRF91 boards found.",
          "Connect a board (check the cable and `dmesg`), or pass --port <path> to other commands.",
        );
        return;
      }
      writeLines(
        ctx.io,
        ...table([
          ["MODEL", "SERIAL", "AT PORT", "OTHER PORTS"],
          ...boards.map(boardRow),
          ...others.map(otherRow),
        ]),
      );
    });
}
