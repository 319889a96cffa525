/**
 * Shell-mode firmware (Modem Shell, lib/at_shell; nrf91-at.md §9): AT commands travel as the
 * shell command `at <AT command>`, and the shell adds a prompt, colours and an echo.
 */

export const SHELL_PROMPT = "uart:~$ ";

/**
 * Wraps an AT command for the shell. Quotes and backslashes are escaped for the shell's
 * argument parser. Like nrfcredstore, CRs are removed and each LF becomes the two characters
 * `\n`: a PEM written in shell mode is therefore stored LF-only, and its expected `%CMNG`
 * hash must be computed over the LF-only text.
 */
export function encodeShellCommand(command: string): string {
  const escaped = command
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\r/g, "")
    .replace(/\n/g, "\\n");
  return `at ${escaped}`;
}

/** Removes leading prompts (the shell prints one before echoing what was typed). */
export function stripShellPrompt(line: string): string {
  let rest = line;
  const prompt = SHELL_PROMPT.trimEnd();
  while (rest.startsWith(prompt)) rest = rest.slice(prompt.length).trimStart();
  return rest;
}
