import { resolve } from "node:path";
// The CA's modules one by one, not its index (start-up: no batch or delegation code).
import { CA_PASSPHRASE_ENV, type CertificateAuthority, loadCa } from "../ca/authority.js";
import { CaError } from "../ca/errors.js";
import { isNrfProvisionError } from "../errors/index.js";
import { usageError } from "./context.js";
import { CliError } from "./errors.js";
import type { CliIo } from "./io.js";

/** A terminal input: what raw-mode hidden input needs of `process.stdin`. */
interface TerminalInput {
  isTTY?: boolean;
  setRawMode(raw: boolean): unknown;
  resume(): unknown;
  pause(): unknown;
  on(event: "data" | "end" | "close", listener: (chunk: Buffer | string) => void): unknown;
  off(event: "data" | "end" | "close", listener: (chunk: Buffer | string) => void): unknown;
}

/** Whether we may prompt: both stdout and stdin are terminals. */
export function canPrompt(io: CliIo): boolean {
  const stdin = io.stdin as unknown as Partial<TerminalInput>;
  return io.isTTY && stdin.isTTY === true && typeof stdin.setRawMode === "function";
}

/**
 * The keys of a hidden line, as `sudo`'s prompt takes them: printable characters are the
 * answer; Backspace (DEL or ^H) deletes one character, Ctrl-U the whole line; Enter ends it;
 * Ctrl-C interrupts; Ctrl-D on an empty line is the end of input. Escape sequences (arrow,
 * function and Alt keys) and other control characters are ignored, never kept, also when a
 * sequence arrives split across reads.
 */
export class HiddenLineEditor {
  private chars: string[] = [];
  /** Inside an escape sequence: after ESC, after ESC [ (CSI), or after ESC O (SS3). */
  private escape: "none" | "esc" | "csi" | "ss3" = "none";

  /** Feeds typed characters; returns how the line ended, or null while it goes on. */
  feed(text: string): { kind: "enter"; line: string } | { kind: "interrupt" | "eof" } | null {
    for (const char of text) {
      if (this.escape !== "none") {
        this.skipEscaped(char);
        continue;
      }
      switch (char) {
        case "\r":
        case "\n":
          return { kind: "enter", line: this.chars.join("") };
        case "\u0003":
          return { kind: "interrupt" };
        case "\u0004":
          if (this.chars.length === 0) return { kind: "eof" };
          continue;
        case "\u007f":
        case "\b":
          this.chars.pop();
          continue;
        case "\u0015":
          this.chars = [];
          continue;
        case "\u001b":
          this.escape = "esc";
          continue;
      }
      const code = char.codePointAt(0)!;
      if (code >= 0x20 && !(code >= 0x80 && code < 0xa0)) this.chars.push(char);
    }
    return null;
  }

  private skipEscaped(char: string): void {
    const code = char.codePointAt(0)!;
    if (this.escape === "esc") {
      // ESC [ and ESC O start longer sequences; ESC + any other key is Alt+key (dropped).
      this.escape = char === "[" ? "csi" : char === "O" ? "ss3" : "none";
    } else if (this.escape === "ss3") {
      this.escape = "none"; // one final character: ESC O A (arrow up in application mode)
    } else if (code >= 0x40 && code <= 0x7e) {
      this.escape = "none"; // the final byte of a CSI sequence: ESC [ 1 ; 5 C
    }
  }
}

/**
 * Reads one line from the terminal without echoing it (the question goes to stderr), edited
 * as HiddenLineEditor describes. Ctrl-C rejects with ERR_INTERRUPTED (exit 130); Ctrl-D on an
 * empty line or the end of input reject with a usage error.
 */
export function promptHidden(io: CliIo, question: string): Promise<string> {
  const stdin = io.stdin as unknown as TerminalInput;
  io.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  const editor = new HiddenLineEditor();
  return new Promise((resolveLine, reject) => {
    const finish = () => {
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      stdin.off("close", onEnd);
      stdin.setRawMode(false);
      stdin.pause();
      io.stderr.write("\n");
    };
    const onEnd = () => {
      finish();
      reject(usageError("passphrase prompt ended without an answer (end of input)"));
    };
    const onData = (chunk: Buffer | string) => {
      const ended = editor.feed(String(chunk));
      if (ended === null) return;
      finish();
      if (ended.kind === "enter") resolveLine(ended.line);
      else if (ended.kind === "eof") {
        reject(usageError("passphrase prompt ended without an answer (Ctrl-D)"));
      } else {
        reject(
          new CliError(
            "ERR_INTERRUPTED",
            "passphrase prompt interrupted (Ctrl-C); nothing was changed",
          ),
        );
      }
    };
    stdin.on("data", onData);
    stdin.on("end", onEnd);
    stdin.on("close", onEnd);
  });
}

/**
 * Opens the CA in `dir` (relative to the working directory): with the passphrase from
 * NRF_PROVISION_CA_PASSPHRASE; else as stored when the key is not encrypted; else prompted on a
 * terminal. Without a terminal an encrypted key fails with ERR_CA_PASSPHRASE_REQUIRED, naming
 * the variable.
 */
export async function openCaWithPassphrase(
  io: CliIo,
  dir: string,
  source: { env: string; prompt: string } = { env: CA_PASSPHRASE_ENV, prompt: "CA passphrase: " },
): Promise<CertificateAuthority> {
  const caDir = resolve(io.cwd, dir);
  const onWarning = (message: string) => io.stderr.write(`warning: ${message}\n`);
  const passphraseHint = `set ${source.env} or run interactively to be prompted`;
  const fromEnv = io.env[source.env];
  if (fromEnv !== undefined && fromEnv !== "") {
    return loadCa({ dir: caDir, passphrase: fromEnv, onWarning, passphraseHint });
  }
  try {
    return await loadCa({ dir: caDir, passphrase: null, onWarning, passphraseHint });
  } catch (error) {
    if (!isNrfProvisionError(error, "ERR_CA_PASSPHRASE_REQUIRED") || !canPrompt(io)) throw error;
  }
  const passphrase = await promptHidden(io, source.prompt);
  return loadCa({ dir: caDir, passphrase, onWarning, passphraseHint });
}

/** The passphrase for a new CA: NRF_PROVISION_CA_PASSPHRASE, or asked twice on a terminal; never empty. */
export async function newCaPassphrase(io: CliIo): Promise<string> {
  const fromEnv = io.env[CA_PASSPHRASE_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (fromEnv === "" || !canPrompt(io)) {
    throw new CaError(
      "ERR_CA_PASSPHRASE_REQUIRED",
      `${fromEnv === "" ? `${CA_PASSPHRASE_ENV} is empty` : `No passphrase: ${CA_PASSPHRASE_ENV} is not set and there is no terminal to prompt on`}. Set ${CA_PASSPHRASE_ENV} to a non-empty passphrase (or pass --insecure-no-passphrase for a throw-away test CA).`,
    );
  }
  const first = await promptHidden(io, "New CA passphrase: ");
  if (first === "") {
    throw new CaError(
      "ERR_CA_PASSPHRASE_REQUIRED",
      "An empty passphrase is refused; the CA key must be encrypted.",
    );
  }
  if ((await promptHidden(io, "Repeat the passphrase: ")) !== first) {
    throw new CaError(
      "ERR_CA_PASSPHRASE_MISMATCH",
      "The two passphrases differ; nothing was created. Run ca init again.",
    );
  }
  return first;
}
