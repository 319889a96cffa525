import { resolve } from "node:path";
import { CA_PASSPHRASE_ENV, CaError, type CertificateAuthority, loadCa } from "../ca/index.js";
import { isNrfProvisionError } from "../errors/index.js";
import { usageError } from "./context.js";
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
 * Reads one line from the terminal without echoing it (the question goes to stderr).
 * Backspace edits; Enter ends; Ctrl-C, Ctrl-D or the end of input abort with a usage error.
 */
export function promptHidden(io: CliIo, question: string): Promise<string> {
  const stdin = io.stdin as unknown as TerminalInput;
  io.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolveLine, reject) => {
    let value = "";
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
      for (const char of String(chunk)) {
        if (char === "\r" || char === "\n") {
          finish();
          return resolveLine(value);
        }
        if (char === "\u0003" || char === "\u0004") {
          finish();
          return reject(usageError("passphrase prompt interrupted"));
        }
        value = char === "\u007f" || char === "\b" ? value.slice(0, -1) : value + char;
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
export async function openCaWithPassphrase(io: CliIo, dir: string): Promise<CertificateAuthority> {
  const caDir = resolve(io.cwd, dir);
  const onWarning = (message: string) => io.stderr.write(`warning: ${message}\n`);
  const fromEnv = io.env[CA_PASSPHRASE_ENV];
  if (fromEnv !== undefined && fromEnv !== "") {
    return loadCa({ dir: caDir, passphrase: fromEnv, onWarning });
  }
  try {
    return await loadCa({ dir: caDir, passphrase: null, onWarning });
  } catch (error) {
    if (!isNrfProvisionError(error, "ERR_CA_PASSPHRASE_REQUIRED") || !canPrompt(io)) throw error;
  }
  const passphrase = await promptHidden(io, "CA passphrase: ");
  return loadCa({ dir: caDir, passphrase, onWarning });
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
