/**
 * Shell-mode firmware (Modem Shell, lib/at_shell; nrf91-at.md §9): AT commands travel as the
 * shell command `at '<AT command>'`, and the shell adds a prompt, colours and an echo.
 *
 * What the firmware does with the line, from its sources (facts, not a copy):
 * - Zephyr's argument parser (`subsys/shell/shell_utils.c`) splits at unquoted spaces. Inside
 *   single quotes spaces are kept, `\'` yields `'`, `\0` + 1–3 octal digits and `\x` + 1–2 hex
 *   digits yield one byte, and every other backslash is kept as is.
 * - The `at` command sends only `argv[1]` to the modem. With `CONFIG_AT_SHELL_UNESCAPE_LF=y`
 *   (Modem Shell does the same) a command starting with `AT%CMNG=0` has each two-character `\n`
 *   replaced by CR LF.
 * - The shell's line editor takes printable ASCII only; a CR or LF ends the line.
 */

export const SHELL_PROMPT = "uart:~$ ";

/** The one command prefix whose `\n` the firmware turns into CR LF (case-sensitive, as `strncmp`). */
export const SHELL_LF_UNESCAPE_PREFIX = "AT%CMNG=0";

/** The firmware setting that restores line breaks, and the way round it (for messages). */
export const SHELL_LF_ADVICE =
  "rebuild the firmware with CONFIG_AT_SHELL_UNESCAPE_LF=y (Modem Shell has the same for AT%CMNG=0), " +
  'or switch Modem Shell to raw AT with "at at_cmd_mode start" and use --mode at';

export interface ShellEncodingOptions {
  /** The firmware turns `\n` into CR LF in `AT%CMNG=0` commands. Default true. */
  lfUnescape?: boolean;
}

/**
 * Why `command` cannot reach the modem unchanged through the shell, or undefined. Line breaks
 * (LF or CR LF) survive only in `AT%CMNG=0` commands on firmware with the LF unescape, and there
 * they arrive as CR LF.
 */
export function shellCommandProblem(
  command: string,
  options: ShellEncodingOptions = {},
): string | undefined {
  const text = command.replace(/\r\n/g, "\n");
  const bad = /[^\x20-\x7e\n]/.exec(text);
  if (bad) {
    const code = bad[0].charCodeAt(0);
    return code === 0x0d
      ? "it contains a CR that is not part of a CR LF line break, which would end the shell line"
      : `it contains the character 0x${code.toString(16).padStart(2, "0")} at position ${bad.index}, which the shell's line editor drops or acts on (it takes printable ASCII only)`;
  }
  if (!text.includes("\n")) return undefined;
  if (!command.startsWith(SHELL_LF_UNESCAPE_PREFIX)) {
    return `it contains line breaks, which shell firmware restores only in ${SHELL_LF_UNESCAPE_PREFIX} commands`;
  }
  if (options.lfUnescape === false) {
    return `it contains line breaks and this shell firmware lacks the LF unescape, so the modem would store the characters \\n instead: ${SHELL_LF_ADVICE}`;
  }
  if (text.includes("\\n")) {
    return "it contains the two characters \\n, which the shell firmware turns into a line break in AT%CMNG=0 commands";
  }
  return undefined;
}

/** True where Zephyr would read a backslash inside quotes as the start of an escape. */
function backslashWouldBeRead(text: string, index: number): boolean {
  const next = text.slice(index + 1, index + 3);
  return next === "" || /^0[0-7]/.test(next) || /^x[0-9a-fA-F]/.test(next);
}

/**
 * Wraps an AT command for the shell: `at '<AT command>'`, each line break (LF or CR LF) as the
 * two characters `\n`, each `'` as `\'`. A backslash is sent as is unless Zephyr would read it
 * as an escape (before `0`+octal digit, `x`+hex digit, or the closing quote); then it goes as
 * `\x5c`, the escape that yields a backslash. Check {@link shellCommandProblem} first: a
 * command it refuses does not arrive unchanged.
 */
export function encodeShellCommand(command: string): string {
  const text = command.replace(/\r\n/g, "\n");
  let escaped = "";
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === "\n") escaped += "\\n";
    else if (char === "'") escaped += "\\'";
    else if (char === "\\" && backslashWouldBeRead(text, index)) escaped += "\\x5c";
    else escaped += char;
  }
  return `at '${escaped}'`;
}

/** The bytes the modem stores for credential text written in shell mode: CR LF line breaks. */
export function shellStoredText(text: string): string {
  return text.replace(/\r?\n/g, "\r\n");
}

/** Removes leading prompts (the shell prints one before echoing what was typed). */
export function stripShellPrompt(line: string): string {
  let rest = line;
  const prompt = SHELL_PROMPT.trimEnd();
  while (rest.startsWith(prompt)) rest = rest.slice(prompt.length).trimStart();
  return rest;
}
