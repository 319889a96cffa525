import type { KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { formatPemRow } from "../cloud/csv/index.js";
import { ensureDirectory, refuseExisting, writeNewFile } from "../files/index.js";
import { assertValidDeviceId } from "./claims.js";
import { JwtError } from "./errors.js";
import { generateDeviceKeyPair, toDevicePrivateKey, toDevicePublicKey } from "./keys.js";

/** A software test device written to disk by `writeDeviceKeyPairs`. */
export interface WrittenDeviceKeyPair {
  deviceId: string;
  privateKeyPath: string;
  publicKeyPath: string;
  publicKeyPem: string;
}

/** Reads a P-256 private key PEM file (PKCS#8 or SEC1). Throws ERR_JWT_KEY_FILE or ERR_JWT_KEY. */
export async function readDevicePrivateKeyFile(path: string): Promise<KeyObject> {
  const pem = await readKeyFile(path, "private key");
  return withPath(path, () => toDevicePrivateKey(pem));
}

/** Reads a P-256 public key from a SPKI PEM or certificate PEM file. Throws ERR_JWT_KEY_FILE or ERR_JWT_KEY. */
export async function readDevicePublicKeyFile(path: string): Promise<KeyObject> {
  const pem = await readKeyFile(path, "public key or certificate");
  return withPath(path, () => toDevicePublicKey(pem));
}

/**
 * Device IDs `<prefix><n>` for n = start … start+count-1, zero-padded to the width of the
 * last number (so they sort), e.g. `test-07` … `test-12`.
 */
export function numberedDeviceIds(prefix: string, count: number, start = 1): string[] {
  const width = String(start + count - 1).length;
  const ids = Array.from(
    { length: count },
    (_, i) => prefix + String(start + i).padStart(width, "0"),
  );
  for (const id of ids) assertValidDeviceId(id);
  return ids;
}

/**
 * Generates a key pair per device and writes `<id>.key.pem` (mode 0600) and `<id>.pub.pem`
 * into `outDir` (created if missing), plus the RegisterPublicKeys CSV when `csvPath` is given.
 * Refuses (ERR_IO_EXISTS, ERR_IO_SYMLINK) before writing anything if any target file already
 * exists: keys are never overwritten, and never written through a symbolic link.
 */
export async function writeDeviceKeyPairs(
  outDir: string,
  deviceIds: readonly string[],
  options: { csvPath?: string | undefined } = {},
): Promise<WrittenDeviceKeyPair[]> {
  for (const id of deviceIds) assertValidDeviceId(id);
  const planned = deviceIds.map((deviceId) => ({
    deviceId,
    privateKeyPath: join(outDir, `${deviceId}.key.pem`),
    publicKeyPath: join(outDir, `${deviceId}.pub.pem`),
  }));
  const targets = planned.flatMap((p) => [p.privateKeyPath, p.publicKeyPath]);
  if (options.csvPath !== undefined) targets.push(options.csvPath);
  await refuseExisting(targets);

  await ensureDirectory(outDir);
  const written: WrittenDeviceKeyPair[] = [];
  for (const target of planned) {
    const { privateKeyPem, publicKeyPem } = generateDeviceKeyPair();
    await writeNewFile(target.privateKeyPath, privateKeyPem, { private: true });
    await writeNewFile(target.publicKeyPath, publicKeyPem);
    written.push({ ...target, publicKeyPem });
  }
  if (options.csvPath !== undefined) {
    await writeNewFile(options.csvPath, buildPublicKeysCsv(written));
  }
  return written;
}

/**
 * The RegisterPublicKeys CSV body: `deviceId,"<SPKI PEM with trailing LF>"` rows, LF after
 * each row, no header (written by the one nRF Cloud CSV module). Byte-exact: send it as is.
 */
export function buildPublicKeysCsv(
  rows: ReadonlyArray<{ deviceId: string; publicKeyPem: string }>,
): string {
  return rows
    .map(({ deviceId, publicKeyPem }) => {
      assertValidDeviceId(deviceId);
      return formatPemRow(deviceId, publicKeyPem);
    })
    .join("");
}

async function readKeyFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (cause) {
    throw new JwtError(
      "ERR_JWT_KEY_FILE",
      `Cannot read the ${what} file ${path}: ${(cause as Error).message}.`,
      {
        cause,
        details: { path },
      },
    );
  }
}

function withPath<T>(path: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof JwtError)) throw error;
    throw new JwtError(error.code, `${path}: ${error.message}`, {
      cause: error,
      details: { ...error.details, path },
    });
  }
}
