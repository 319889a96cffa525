import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { commandProblem, encodeShellCommand, shellCommandProblem } from "../../src/at/index.js";
import { SimCommandFramer } from "../../src/sim/modem/framer.js";
import { atShellCommand, splitShellArguments } from "../../src/sim/modem/shell.js";
import { amazonRootCa, connectAtToSimModem } from "../sim-link.js";

/**
 * What the simulated firmware hands the modem for a line typed into it: the shell's line editor,
 * Zephyr's make_argv, lib/at_shell.
 */
function modemReceives(line: string, lfUnescape = true): string | null {
  const [typed] = new SimCommandFramer("\r\n", true).push(Buffer.from(`${line}\r\n`, "utf8"));
  const { argv, openQuote } = splitShellArguments(typed?.text ?? "");
  if (openQuote !== null || argv[0] !== "at" || argv[1] === undefined) return null;
  return atShellCommand(argv[1], lfUnescape);
}

/** What the modem should get: the command itself, line breaks as CR LF in AT%CMNG=0. */
const intended = (command: string) =>
  command.startsWith("AT%CMNG=0") ? command.replace(/\r?\n/g, "\r\n") : command;

// Characters that matter to Zephyr's parser, weighted in, plus any printable ASCII.
const tricky = fc.constantFrom(" ", "'", '"', "\\", "0", "7", "8", "x", "f", "G", "n", "\t");
const printable = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
const text = fc.string({ unit: fc.oneof(tricky, printable, printable) });
const pemLine = fc.string({ unit: fc.oneof(tricky, printable), maxLength: 64 });
const pem = fc
  .array(pemLine, { minLength: 1, maxLength: 20 })
  .chain((lines) =>
    fc
      .constantFrom("\n", "\r\n")
      .map(
        (lineBreak) =>
          `-----BEGIN CERTIFICATE-----${lineBreak}${lines.join(lineBreak)}${lineBreak}`,
      ),
  );
const atCommand = fc.oneof(
  text.map((rest) => `AT${rest}`),
  fc.tuple(fc.nat(), text).map(([tag, rest]) => `AT%XFOO=${tag},"${rest}"`),
  fc.tuple(fc.nat(), pem).map(([tag, body]) => `AT%CMNG=0,${tag},0,"${body}"`),
);

describe("shell encoding against Zephyr's argument rules (nrf91-at.md §9)", () => {
  it("sends `at '<command>'` with \\n for line breaks and \\' for quotes, nothing else", () => {
    expect(encodeShellCommand("AT+CGSN")).toBe("at 'AT+CGSN'");
    expect(encodeShellCommand('AT%CMNG=0,1,0,"-----BEGIN CERTIFICATE-----\r\nMIIB\n"')).toBe(
      `at 'AT%CMNG=0,1,0,"-----BEGIN CERTIFICATE-----\\nMIIB\\n"'`,
    );
    expect(encodeShellCommand(`AT+X="it's"`)).toBe(`at 'AT+X="it\\'s"'`);
    // Backslashes Zephyr would read as an escape go as \x5c, the escape for a backslash.
    expect(encodeShellCommand("AT+X=\\0123\\x41\\q\\")).toBe("at 'AT+X=\\x5c0123\\x5cx41\\q\\x5c'");
  });

  it("Amazon Root CA 1 reaches the modem whole, with CR LF line breaks", () => {
    const command = `AT%CMNG=0,16842753,0,"${amazonRootCa}"`;
    expect(shellCommandProblem(command)).toBeUndefined();
    expect(modemReceives(encodeShellCommand(command))).toBe(
      `AT%CMNG=0,16842753,0,"${amazonRootCa.replaceAll("\n", "\r\n")}"`,
    );
    // Without the firmware's LF unescape the modem would get the two characters \n.
    expect(modemReceives(encodeShellCommand(command), false)).toContain("-----\\nMII");
    expect(shellCommandProblem(command, { lfUnescape: false })).toMatch(
      /CONFIG_AT_SHELL_UNESCAPE_LF=y.*at at_cmd_mode start/,
    );
  });

  it("what the encoder sends arrives byte for byte (5,000 generated commands)", () => {
    fc.assert(
      fc.property(atCommand, (command) => {
        fc.pre(shellCommandProblem(command) === undefined);
        expect(modemReceives(encodeShellCommand(command))).toBe(intended(command));
      }),
      { numRuns: 5000 },
    );
  });

  it("refuses only what the firmware would alter", () => {
    fc.assert(
      fc.property(atCommand, (command) => {
        const problem = shellCommandProblem(command);
        const arrives = modemReceives(encodeShellCommand(command));
        if (problem === undefined) expect(arrives).toBe(intended(command));
        else expect(arrives).not.toBe(intended(command));
      }),
      { numRuns: 3000 },
    );
  });

  it("splits like make_argv: spaces, both quotes, backslashes, \\0ooo and \\xHH", () => {
    const split = (line: string) => splitShellArguments(line).argv;
    expect(split("  at   AT+CGSN  ")).toEqual(["at", "AT+CGSN"]);
    expect(split(`at AT+X="a b"`)).toEqual(["at", "AT+X=a b"]);
    expect(split(`at a\\ b\\n\\"c`)).toEqual(["at", 'a bn"c']);
    expect(split(`at 'x\\'y\\"z\\n'`)).toEqual(["at", `x'y\\"z\\n`]);
    expect(split(`at "x\\"y\\'z"`)).toEqual(["at", `x"y\\'z`]);
    expect(split(`at '\\0101\\x41\\x4g\\0\\09'`)).toEqual([
      "at",
      "AAg\\0\\09".replace("g", "\x04g"),
    ]);
    expect(split(`at 'a'b"c d"e`)).toEqual(["at", "abc de"]);
    expect(splitShellArguments(`at 'open`).openQuote).toBe("'");
    expect(atShellCommand("AT+X=\0gone", true)).toBe("AT+X=");
    expect(atShellCommand('at%cmng=0,1,0,"a\\nb"', true)).toBe('at%cmng=0,1,0,"a\\nb"');
  });
});

describe("shell encoding through the AT client and the simulated shell firmware", () => {
  it("every generated command reaches the simulated modem exactly (2,000 commands)", async () => {
    const received: string[] = [];
    const { at } = await connectAtToSimModem(
      { shellMode: true, functionalMode: 4, onCommand: (command) => received.push(command) },
      { mode: "shell", flushMs: 0 },
    );
    const balanced = atCommand.filter(
      (command) =>
        shellCommandProblem(command) === undefined && commandProblem(command) === undefined,
    );
    await fc.assert(
      fc.asyncProperty(balanced, async (command) => {
        received.length = 0;
        // The simulated modem may well refuse the command; what matters is what it received.
        await at.send(command).catch(() => undefined);
        expect(received).toEqual([intended(command)]);
      }),
      { numRuns: 2000 },
    );
    await at.close();
  });
});

describe("the AT client in shell mode refuses what the shell would alter, sending nothing", () => {
  it("line breaks outside AT%CMNG=0, control characters, and (without the unescape) any line break", async () => {
    const received: string[] = [];
    const options = {
      shellMode: true,
      functionalMode: 4,
      onCommand: (c: string) => received.push(c),
    };
    const { at } = await connectAtToSimModem(options, { mode: "shell", flushMs: 0 });
    await expect(at.send('AT%XFOO="a\nb"')).rejects.toMatchObject({
      code: "ERR_AT_COMMAND_INVALID",
      message: expect.stringMatching(/only in AT%CMNG=0 commands/),
    });
    await expect(at.send('AT+X="a\tb"')).rejects.toMatchObject({
      code: "ERR_AT_COMMAND_INVALID",
      message: expect.stringMatching(/0x09.*printable ASCII only/),
    });
    const without = await connectAtToSimModem(options, {
      mode: "shell",
      flushMs: 0,
      shellLfUnescape: false,
    });
    await expect(without.at.send(`AT%CMNG=0,1,0,"${amazonRootCa}"`)).rejects.toMatchObject({
      code: "ERR_AT_COMMAND_INVALID",
      message: expect.stringMatching(/CONFIG_AT_SHELL_UNESCAPE_LF=y/),
    });
    expect(received).toEqual(["AT+CMEE=1", "AT+CMEE=1"]);
    await at.close();
    await without.at.close();
  });
});
