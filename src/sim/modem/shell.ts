/**
 * The simulated Zephyr shell (Modem Shell, lib/at_shell) applies the firmware's rules, not the
 * host's hopes (nrf91-at.md §9): a friendlier unescape here would hide corrupt writes.
 */

/** The real shell's prompt: bold green `uart:~$ `, then reset. */
export const SHELL_PROMPT = "\x1b[1;32muart:~$ \x1b[m";

export interface ShellArguments {
  argv: string[];
  /** The quote character left open at the end of the line, or null. */
  openQuote: string | null;
}

const isSpace = (char: string | undefined) => char !== undefined && /^[ \t\n\v\f\r]$/.test(char);
const OCTAL = /^[0-7]$/;
const HEX = /^[0-9a-fA-F]$/;

/** Reads up to `max` digits of `pattern` at `start`: the byte value (mod 256) and the count. */
function readDigits(
  text: string,
  start: number,
  max: number,
  pattern: RegExp,
  radix: number,
): { value: number; count: number } {
  let value = 0;
  let count = 0;
  while (count < max && pattern.test(text[start + count] ?? "")) {
    value = (value * radix + Number.parseInt(text[start + count] as string, radix)) & 0xff;
    count++;
  }
  return { value, count };
}

/**
 * Splits a shell line into arguments the way Zephyr's `make_argv` does. Characters are bytes
 * (latin1), since `\xHH` can yield any byte.
 * - Outside quotes: whitespace separates arguments; a backslash is dropped and the next
 *   character taken literally; `'` or `"` opens a quoted part (the argument goes on after it).
 * - Inside quotes: the opening quote character closes; a backslash before it yields it;
 *   `\0` + 1–3 octal digits and `\x` + 1–2 hex digits yield one byte; any other backslash is
 *   kept as it is, and the character after it is read normally.
 */
export function splitShellArguments(line: string): ShellArguments {
  const argv: string[] = [];
  let openQuote: string | null = null;
  let index = 0;
  while (index < line.length) {
    if (isSpace(line[index])) {
      index++;
      continue;
    }
    let argument = "";
    let quote: string | null = null;
    while (index < line.length) {
      const char = line[index] as string;
      const next = line[index + 1];
      if (quote === null) {
        if (isSpace(char)) break;
        if (char === "\\") {
          argument += next ?? "";
          index += 2;
        } else if (char === "'" || char === '"') {
          quote = char;
          index++;
        } else {
          argument += char;
          index++;
        }
        continue;
      }
      if (char === quote) {
        quote = null;
        index++;
        continue;
      }
      if (char === "\\" && next === quote) {
        argument += quote;
        index += 2;
        continue;
      }
      const byteEscape =
        char === "\\" && next === "0"
          ? readDigits(line, index + 2, 3, OCTAL, 8)
          : char === "\\" && next === "x"
            ? readDigits(line, index + 2, 2, HEX, 16)
            : null;
      if (byteEscape && byteEscape.count > 0) {
        argument += String.fromCharCode(byteEscape.value);
        index += 2 + byteEscape.count;
        continue;
      }
      argument += char;
      index++;
    }
    argv.push(argument);
    openQuote = quote;
  }
  return { argv, openQuote };
}

/**
 * What the `at` command hands the modem: `argv[1]` as a C string (it ends at a NUL byte), with
 * each two-character `\n` replaced by CR LF in commands starting with `AT%CMNG=0` when the
 * firmware has `CONFIG_AT_SHELL_UNESCAPE_LF=y`.
 */
export function atShellCommand(argument: string, lfUnescape: boolean): string {
  const nul = argument.indexOf("\0");
  const command = nul < 0 ? argument : argument.slice(0, nul);
  const unescaped =
    lfUnescape && command.startsWith("AT%CMNG=0") ? command.replaceAll("\\n", "\r\n") : command;
  return Buffer.from(unescaped, "latin1").toString("utf8");
}

export const AT_SHELL_USAGE = [
  "Usage: at <subcommand>",
  "",
  "Subcommands:",
  "  events_enable     Enable AT event handler which prints AT notifications",
  "  events_disable    Disable AT event handler",
  "",
  "Any other subcommand is interpreted as AT command and sent to the modem.",
];
