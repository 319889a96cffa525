import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { ExitCode } from "../../src/cli/exit-codes.js";
import {
  allCommandModules,
  buildProgram,
  commandModulesFor,
  HELP_WIDTH,
} from "../../src/cli/main.js";
import { DEVICE_ID_RULE } from "../../src/device-id/index.js";
import { runChild } from "./child.js";
import { captureIo, runCliCaptured } from "./harness.js";

const modules = await allCommandModules();

/** Every command path, the root included. */
function commandPaths(): string[][] {
  const paths: string[][] = [];
  const walk = (command: Command, path: string[]) => {
    paths.push(path);
    for (const sub of command.commands) walk(sub, [...path, sub.name()]);
  };
  walk(buildProgram({ io: captureIo().io as never, exitCode: ExitCode.OK }, modules), []);
  return paths;
}

function commandAt(path: string[]): Command {
  let command = buildProgram({ io: captureIo().io as never, exitCode: ExitCode.OK }, modules);
  for (const name of path) command = command.commands.find((sub) => sub.name() === name)!;
  return command;
}

const oneLine = (text: string) => text.replace(/\s+/g, " ");

describe("--help", () => {
  it.each(commandPaths().map((path) => [path.join(" ") || "(root)", path] as const))(
    "%s: wrapped at 100 columns, required options marked",
    async (_name, path) => {
      const { code, out } = await runCliCaptured([...path, "--help"]);
      expect(code).toBe(0);
      for (const line of out.split("\n")) expect(line.length, line).toBeLessThanOrEqual(HELP_WIDTH);
      const help = oneLine(out);
      const command = commandAt(path);
      const helper = command.createHelp();
      for (const option of command.options) {
        const description = helper.optionDescription(option);
        expect(description.endsWith("(required)"), option.flags).toBe(option.mandatory);
        expect(help).toContain(oneLine(`${option.flags} ${description}`));
      }
    },
  );

  it("is at most 100 columns in the built CLI too, for the commands that had the longest lines", async () => {
    for (const command of ["provision", "station", "cloud", "cloud onboard"]) {
      const { code, out } = await runChild([...command.split(" "), "--help"]);
      expect(code).toBe(0);
      expect(Math.max(...out.split("\n").map((line) => line.length)), command).toBeLessThanOrEqual(
        HELP_WIDTH,
      );
    }
  });
});

describe("the device-ID rule", () => {
  const readme = oneLine(readFileSync(new URL("../../README.md", import.meta.url), "utf8"));

  it("is stated the same in the README, the help and the errors", async () => {
    expect(DEVICE_ID_RULE).toBe(
      "1 to 64 characters, each a letter (a-z, A-Z), a digit, ':', '_' or '-'",
    );
    expect(readme).toContain(`A device ID is ${DEVICE_ID_RULE}`);
    for (const path of [["provision"], ["station"], ["cloud", "onboard"], ["jwt", "keygen"]]) {
      const { out } = await runCliCaptured([...path, "--help"]);
      expect(oneLine(out), path.join(" ")).toContain(DEVICE_ID_RULE);
    }
    const errors = [
      [
        "provision",
        "--port",
        "/nowhere",
        "--ca-dir",
        "ca",
        "--device-id",
        "a.b",
        "--onboard",
        "none",
      ],
      ["jwt", "keygen", "--device", "a b", "--out-dir", "keys"],
      ["jwt", "keygen", "--count", "2", "--prefix", "x".repeat(64), "--out-dir", "keys"],
    ];
    for (const argv of errors) {
      const { code, err } = await runCliCaptured(argv, { env: {} });
      expect(code, err).not.toBe(0);
      expect(oneLine(err), argv.join(" ")).toContain(`a device ID is ${DEVICE_ID_RULE}`);
    }
  });
});

describe("the overview help", () => {
  it("needs no command module, and says what the modules themselves say", async () => {
    // The root's help from every module, as when a command module is loaded.
    const full = buildProgram(
      { io: captureIo().io as never, exitCode: ExitCode.OK },
      modules,
    ).helpInformation();
    // What `nrf-provision --help` and a bare `nrf-provision` print: the stand-ins only.
    expect(await commandModulesFor(["--help"])).toHaveLength(1);
    const help = await runCliCaptured(["--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toBe(full);
    const bare = await runCliCaptured([]);
    expect(bare.code).toBe(2);
    expect(bare.err).toBe(full);
  });
});
