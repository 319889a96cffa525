import { Command } from "commander";
import { describe, expect, it, vi } from "vitest";
import { registerLineDashboard } from "../../../src/cli/commands/line-dashboard.js";
import type { CliContext } from "../../../src/cli/context.js";
import { captureIo } from "../../cli/harness.js";
import { SimulatedLine } from "./simulated-line.js";

// The shared store (src/store, PostgreSQL) is another part of issue 14; here a simulated line
// stands in for it, opened the way the command opens the store.
const line = new SimulatedLine({ boardsPerStation: 2 });
const opened: string[] = [];
let closed = 0;
async function openSimulatedStore(url: string) {
  opened.push(url);
  return {
    readStatus: () => line.readStatus(),
    close: async () => {
      closed++;
    },
  };
}

describe("nrf-provision line dashboard --store URL (command, store simulated)", () => {
  it("opens the store, serves the page and events on the printed address, and closes all on Ctrl-C", async () => {
    let stop = () => {};
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const { io, out } = captureIo({ env: {}, stopped });
    const ctx = { io, exitCode: 0 } as unknown as CliContext;
    const program = new Command().exitOverride();
    registerLineDashboard(program.command("line"), ctx, openSimulatedStore);
    const run = program.parseAsync(
      ["line", "dashboard", "--store", "postgres://line@db/line", "--port", "0", "--token", "t0k"],
      { from: "user" },
    );
    await vi.waitFor(() => expect(out()).toContain("Press Ctrl-C to stop."), { timeout: 20_000 });
    const url = /Line dashboard on (\S+)/.exec(out())?.[1] ?? "";
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=t0k$/);
    expect(opened).toEqual(["postgres://line@db/line"]);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Production line");
    expect((await fetch(url.replace("t0k", "wrong"))).status).toBe(401);
    stop();
    await run;
    expect(closed).toBe(1);
    await expect(fetch(url)).rejects.toThrow(); // no longer listening
  });
});
