import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { assertValidDeviceId } from "./claims.js";
import { JwtError } from "./errors.js";
import { readDevicePrivateKeyFile } from "./files.js";
import {
  createDeviceJwtSigner,
  type DeviceJwtSigner,
  type DeviceJwtSignerOptions,
} from "./sign.js";

/** One line of a mint batch file: which device, signed with which key file. */
export interface MintBatchRow {
  deviceId: string;
  /** Absolute path; relative paths in the file are relative to the file's directory. */
  keyPath: string;
  /** 1-based line number in the batch file, for error messages. */
  line: number;
}

export interface MintBatchOptions extends DeviceJwtSignerOptions {
  lifetimeSeconds?: number;
  issuedAt?: number;
}

/**
 * Reads a batch file of `deviceId,keyPath` lines (blank lines skipped, CRLF accepted).
 * Throws ERR_JWT_BATCH naming the line for a malformed one, ERR_JWT_KEY_FILE if unreadable.
 */
export async function readMintBatchFile(path: string): Promise<MintBatchRow[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new JwtError(
      "ERR_JWT_KEY_FILE",
      `Cannot read the batch file ${path}: ${(cause as Error).message}.`,
      {
        cause,
        details: { path },
      },
    );
  }
  return parseMintBatch(text, dirname(resolve(path)), path);
}

/** Parses batch file text; `baseDir` anchors relative key paths. */
export function parseMintBatch(
  text: string,
  baseDir: string,
  source = "batch file",
): MintBatchRow[] {
  const rows: MintBatchRow[] = [];
  text.split("\n").forEach((raw, index) => {
    const lineText = raw.replace(/\r$/, "").trim();
    if (lineText === "") return;
    const line = index + 1;
    // Device IDs cannot contain commas, so the first comma splits; a key path may contain more.
    const comma = lineText.indexOf(",");
    const deviceId = comma < 0 ? "" : lineText.slice(0, comma).trim();
    const keyPath = comma < 0 ? "" : lineText.slice(comma + 1).trim();
    if (deviceId === "" || keyPath === "") {
      throw new JwtError(
        "ERR_JWT_BATCH",
        `${source} line ${line}: expected "deviceId,keyPath", got ${JSON.stringify(lineText)}.`,
        { details: { source, line } },
      );
    }
    try {
      assertValidDeviceId(deviceId);
    } catch (cause) {
      throw new JwtError("ERR_JWT_BATCH", `${source} line ${line}: ${(cause as Error).message}`, {
        cause,
        details: { source, line, deviceId },
      });
    }
    rows.push({
      deviceId,
      keyPath: isAbsolute(keyPath) ? keyPath : resolve(baseDir, keyPath),
      line,
    });
  });
  return rows;
}

/**
 * Mints one token per row, in order. Each key file is read and prepared once, however many
 * rows share it.
 */
export async function* mintBatch(
  rows: Iterable<MintBatchRow>,
  options: MintBatchOptions = {},
): AsyncGenerator<{ deviceId: string; token: string }> {
  const { lifetimeSeconds, issuedAt, ...signerOptions } = options;
  const signers = new Map<string, DeviceJwtSigner>();
  for (const { deviceId, keyPath } of rows) {
    let signer = signers.get(keyPath);
    if (signer === undefined) {
      signer = createDeviceJwtSigner(await readDevicePrivateKeyFile(keyPath), signerOptions);
      signers.set(keyPath, signer);
    }
    yield { deviceId, token: signer.mint({ deviceId, lifetimeSeconds, issuedAt }) };
  }
}
