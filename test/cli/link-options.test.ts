import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliContext } from "../../src/cli/context.js";
import { ExitCode } from "../../src/cli/exit-codes.js";
import { allCommandModules, buildProgram } from "../../src/cli/main.js";
import { socatAvailable } from "../../src/sim/modem/index.js";
import { runChild, startChild, startSimModemChild } from "./child.js";
import { captureIo } from "./harness.js";

// The link flags (--baud, --no-rtscts, --terminator, --mode, --timeout-ms, --verbose): the
// same on every command that opens a board, and really used on the wire. The simulators and
// the CLI run as child processes of the built CLI, as a user runs them.

const linkFlags = ["--baud", "--no-rtscts", "--terminator", "--mode", "--timeout-ms", "--verbose"];
const boardCommands = [
  ["provision"],
  ["station"],
  ["modem", "info"],
  ["modem", "keygen"],
  ["modem", "creds", "list"],
  ["modem", "creds", "write"],
  ["modem", "creds", "delete"],
  ["modem", "jwt"],
];

function commandAt(program: Command, path: string[]): Command {
  let command = program;
  for (const name of path) {
    const next = command.commands.find((sub) => sub.name() === name);
    if (!next) throw new Error(`no command ${path.join(" ")}`);
    command = next;
  }
  return command;
}

describe("the link options", () => {
  it("are the same flags, with the same help and defaults, on every command that opens a board", async () => {
    const ctx: CliContext = { io: captureIo().io as never, exitCode: ExitCode.OK };
    const program = buildProgram(ctx, await allCommandModules());
    const describe = (path: string[]) =>
      commandAt(program, path)
        .options.filter((option) => linkFlags.includes(option.long ?? ""))
        .map((option) => ({
          flags: option.flags,
          description: option.description,
          default: option.defaultValue,
          choices: option.argChoices,
        }));
    const reference = describe(["modem", "info"]);
    expect(reference.map((option) => option.flags.split(" ")[0])).toEqual(linkFlags);
    for (const path of boardCommands) expect(describe(path), path.join(" ")).toEqual(reference);
  });
});

const hasSocat = await socatAvailable();

describe.skipIf(!hasSocat)(
  "link options against `sim modem --terminator cr` (child processes)",
  () => {
    const passphrase = "link-options-test";
    let dir: string;
    let env: NodeJS.ProcessEnv;
    let cloud: ReturnType<typeof startChild>;
    const sims: Array<{ stop(): Promise<unknown> }> = [];

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "nrf-provision-link-"));
      const caInit = await runChild(["ca", "init", "--dir", join(dir, "ca")], {
        env: { NRF_PROVISION_CA_PASSPHRASE: passphrase },
      });
      expect(caInit.code, caInit.err).toBe(0);
      cloud = startChild(["sim", "cloud", "--json"]);
      const { baseUrl, apiKey } = JSON.parse(await cloud.untilStdout((out) => out.includes("}")));
      env = {
        NRF_PROVISION_CA_PASSPHRASE: passphrase,
        NRF_CLOUD_API_KEY: apiKey,
        NRF_CLOUD_BASE_URL: baseUrl,
      };
    });
    afterAll(async () => {
      await Promise.all(sims.map((sim) => sim.stop()));
      await cloud?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    async function crBoard() {
      const sim = await startSimModemChild(["--terminator", "cr"]);
      sims.push(sim);
      return sim;
    }

    it("provision --terminator cr --mode at --baud 115200 provisions and onboards the board", async () => {
      const board = await crBoard();
      const result = await runChild(
        [
          "provision",
          "--port",
          board.port,
          "--ca-dir",
          join(dir, "ca"),
          "--terminator",
          "cr",
          "--mode",
          "at",
          "--baud",
          "115200",
          "--no-rtscts",
          "--timeout-ms",
          "5000",
          "--verbose",
          "--json",
        ],
        { env, cwd: dir },
      );
      expect(result.code, result.err).toBe(0);
      const report = JSON.parse(result.out);
      expect(report).toMatchObject({
        ok: true,
        deviceId: board.deviceUuid,
        onboarding: { mode: "single", status: "onboarded" },
      });
      // --verbose: the AT traffic, each line naming the board; --mode at: no shell probe was sent.
      expect(result.err).toContain(`${board.port} >> AT+CGSN`);
      expect(result.err).toContain(`${board.port} << OK`);
      expect(result.err).not.toMatch(/>> at AT/);
    });

    it("the terminator really goes on the wire: LF-only commands get no answer from CR firmware", async () => {
      const board = await crBoard();
      const link = ["--terminator", "lf", "--mode", "at", "--timeout-ms", "300"];
      const info = await runChild(["modem", "info", "--port", board.port, ...link, "--json"], {
        env,
      });
      expect(info.code, info.err).toBe(ExitCode.DEVICE);
      expect(JSON.parse(info.out).error.code).toMatch(/^ERR_AT_(NO_RESPONDER|TIMEOUT)$/);
      const provision = await runChild(
        [
          "provision",
          "--port",
          board.port,
          "--ca-dir",
          join(dir, "ca"),
          "--onboard",
          "none",
          ...link,
        ],
        { env, cwd: dir },
      );
      expect(provision.code, provision.err).toBe(ExitCode.DEVICE);
      // The same board answers once the terminator is right.
      const right = await runChild(
        ["modem", "info", "--port", board.port, "--terminator", "cr", "--json"],
        { env },
      );
      expect(right.code, right.err).toBe(0);
      expect(JSON.parse(right.out).imei).toBe(board.imei);
    });

    it("station takes them too: --terminator cr --mode at provisions the board", async () => {
      const board = await crBoard();
      const result = await runChild(
        [
          "station",
          "--ports",
          board.port,
          "--journal",
          join(dir, "station.jsonl"),
          "--ca-dir",
          join(dir, "ca"),
          "--onboard",
          "none",
          "--terminator",
          "cr",
          "--mode",
          "at",
          "--baud",
          "115200",
          "--jsonl",
        ],
        { env, cwd: dir },
      );
      expect(result.code, result.out + result.err).toBe(0);
      expect(result.out).toContain(board.deviceUuid);
    });
  },
);
