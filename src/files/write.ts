import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { link, lstat, mkdir, open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { FileError, fileSystemError } from "./errors.js";

/** File names of a CA directory: no output takes them, not even with --force. */
export const PROTECTED_FILE_NAMES: readonly string[] = [
  "ca.key.pem",
  "ca.pem",
  "ledger.jsonl",
  "ledger.jsonl.lock",
];

export interface WriteOptions {
  /** Private material (keys, PSKs): mode 0600 whatever the umask or an older file said. */
  private?: boolean;
  /** Replace an existing regular file (never a symbolic link, a folder or a CA file). */
  force?: boolean;
  /** Only `ca init` writes CA files (ca.key.pem, ca.pem …); any other output is refused them. */
  caFile?: boolean;
  /**
   * fsync the file before its name appears (default true). A batch of certificate copies
   * that the CA ledger also holds may skip it.
   */
  sync?: boolean;
}

/** The mode every file the tool writes gets: 0600 for private material, 0644 otherwise. */
export function modeFor(options: WriteOptions): number {
  return options.private ? 0o600 : 0o644;
}

/**
 * Writes `content` to `path`, which must not exist (unless `force`). The content goes to a
 * temporary file in the same folder, created with O_EXCL | O_NOFOLLOW and its mode set
 * exactly; then `link()` gives it the final name. link() fails with EEXIST on any existing
 * entry, a symbolic link included, and never follows one, so nothing is overwritten and no
 * write goes through a planted link. A reader never sees a half-written file: the name appears
 * only once the content is complete. With `force`, a regular file is replaced with rename(),
 * which swaps the directory entry and so leaves any other name of the old file untouched.
 * On a file system without hard links (FAT on a USB stick) it falls back to an O_EXCL create.
 */
export async function writeNewFile(
  path: string,
  content: string | Uint8Array,
  options: WriteOptions = {},
): Promise<void> {
  const mode = modeFor(options);
  if (!options.caFile) refuseCaFileName(path);
  if (options.force) await checkReplaceable(path);
  const temporary = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  try {
    await writeExclusive(temporary, content, mode, options.sync !== false);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw fileSystemError("ERR_IO_WRITE", "write", path, error);
  }
  try {
    if (options.force) {
      await rename(temporary, path);
      return;
    }
    try {
      await link(temporary, path);
    } catch (error) {
      const errno = (error as NodeJS.ErrnoException).code;
      if (errno === "EEXIST") throw await existsError(path);
      if (errno !== "EPERM" && errno !== "ENOTSUP" && errno !== "EOPNOTSUPP") throw error;
      await writeExclusive(path, content, mode, options.sync !== false).catch(async (e) => {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") throw await existsError(path);
        throw e;
      });
    }
  } catch (error) {
    if (error instanceof FileError) throw error;
    throw fileSystemError("ERR_IO_WRITE", "write", path, error);
  } finally {
    await unlink(temporary).catch(() => {});
  }
}

/**
 * Refuses, before any work is done, when one of `paths` exists (ERR_IO_EXISTS), is a symbolic
 * link (ERR_IO_SYMLINK) or, with `force`, cannot be replaced. `writeNewFile` checks again at
 * the moment of writing; this only spares work that would be lost.
 */
export async function refuseExisting(
  paths: readonly string[],
  options: { force?: boolean } = {},
): Promise<void> {
  for (const path of paths) {
    refuseCaFileName(path);
    if (options.force) await checkReplaceable(path);
    else if (await lstatOrUndefined(path)) throw await existsError(path);
  }
}

/** Refuses before any work when the folder an output goes into is missing or not a folder. */
export async function requireFolder(dir: string): Promise<void> {
  const stats = await lstatOrUndefined(dir);
  if (stats?.isDirectory() || (stats?.isSymbolicLink() && (await isDirectory(dir)))) return;
  throw new FileError(
    "ERR_IO_NOT_A_DIRECTORY",
    stats === undefined
      ? `The folder ${dir} does not exist: create it or choose another output path.`
      : `${dir} is not a folder: choose another output path.`,
    { details: { path: dir } },
  );
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
}

/** Creates `dir` (and parents) if missing; ERR_IO_NOT_A_DIRECTORY if something else is there. */
export async function ensureDirectory(dir: string, options: { private?: boolean } = {}) {
  try {
    await mkdir(dir, { recursive: true, mode: options.private ? 0o700 : 0o755 });
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno === "EEXIST" || errno === "ENOTDIR") {
      throw new FileError(
        "ERR_IO_NOT_A_DIRECTORY",
        `${dir} is not a folder (a file is in its place): move it aside or choose another folder.`,
        { cause: error, details: { path: dir } },
      );
    }
    throw fileSystemError("ERR_IO_WRITE", "create the folder", dir, error);
  }
}

async function writeExclusive(
  path: string,
  content: string | Uint8Array,
  mode: number,
  sync: boolean,
): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const file = await open(path, flags, mode);
  try {
    await file.chmod(mode); // the umask may have narrowed or widened `mode`
    await file.writeFile(content);
    if (sync) await file.sync();
  } finally {
    await file.close();
  }
}

/** An output never takes a CA file's name: `--out ca/ledger.jsonl` would become the ledger. */
function refuseCaFileName(path: string): void {
  if (PROTECTED_FILE_NAMES.includes(basename(path))) throw protectedError(path);
}

async function checkReplaceable(path: string): Promise<void> {
  const stats = await lstatOrUndefined(path);
  if (stats?.isSymbolicLink()) throw symlinkError(path);
  if (stats && !stats.isFile()) {
    throw new FileError(
      "ERR_IO_EXISTS",
      `Refusing to write ${path}: it is not a regular file (a folder or device is there). Move it aside or choose another path.`,
      { details: { path } },
    );
  }
}

async function existsError(path: string): Promise<FileError> {
  const stats = await lstatOrUndefined(path);
  if (stats?.isSymbolicLink()) return symlinkError(path);
  return new FileError(
    "ERR_IO_EXISTS",
    `Refusing to overwrite ${path}: it already exists. Move it aside or choose another path.`,
    { details: { path } },
  );
}

function protectedError(path: string): FileError {
  return new FileError(
    "ERR_IO_PROTECTED",
    `Refusing to write ${path}: ${basename(path)} is the name of a CA file, which no output may take or replace, not even with --force. Choose another output path.`,
    { details: { path } },
  );
}

function symlinkError(path: string): FileError {
  return new FileError(
    "ERR_IO_SYMLINK",
    `Refusing to write ${path}: it is a symbolic link, and links are never followed or replaced. Remove the link or give the real path.`,
    { details: { path } },
  );
}

async function lstatOrUndefined(path: string) {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fileSystemError("ERR_IO_READ", "inspect", path, error);
  }
}
