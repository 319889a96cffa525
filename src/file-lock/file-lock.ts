import { randomBytes } from "node:crypto";
import { link, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { NrfProvisionError } from "../errors/index.js";

export interface FileLockOptions {
  /** Give up after this long (default 30 s); 0 tries once (a stale lock is still broken). */
  timeoutMs?: number | undefined;
}

/** Stable code of the lock layer. */
export type FileLockErrorCode = "ERR_FILE_LOCKED";

/** The lock is held by a live process (or by one on another host, which cannot be checked). */
export class FileLockedError extends NrfProvisionError<FileLockErrorCode> {
  constructor(
    readonly lockPath: string,
    readonly holder: { pid: number; host: string } | null,
  ) {
    super(
      "ERR_FILE_LOCKED",
      `${lockPath} is held by ${holder ? `process ${holder.pid} on ${holder.host}` : "another process"}.`,
      { details: { lockPath, pid: holder?.pid, host: holder?.host } },
    );
  }
}

/**
 * A cross-process lock file holding "<pid> <hostname>". Taken atomically by writing a private
 * temporary file and hard-linking it to the lock path (link fails if the lock exists), so the
 * lock never exists without its owner written in it. A lock whose owner PID is dead on this
 * host is stale (the holder was killed): it is renamed away (only one breaker wins the rename),
 * re-read to confirm it is still the dead owner's, and deleted. Returns the release function.
 */
export async function acquireFileLock(
  lockPath: string,
  options: FileLockOptions = {},
): Promise<() => Promise<void>> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const owner = `${process.pid} ${hostname()}\n`;
  const temporary = `${lockPath}.${process.pid}.${randomBytes(4).toString("hex")}`;
  try {
    // Inside the try: a full disk can create the file and then fail the write.
    await writeFile(temporary, owner, { mode: 0o600 });
    for (let delayMs = 1; ; delayMs = Math.min(delayMs * 2, 50)) {
      try {
        await link(temporary, lockPath);
        return () => unlink(lockPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const holder = await readHolder(lockPath);
      if (holder && isStale(holder)) {
        await breakStaleLock(lockPath, holder.text);
        continue;
      }
      if (Date.now() >= deadline) {
        throw new FileLockedError(lockPath, holder && { pid: holder.pid, host: holder.host });
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  } finally {
    await unlink(temporary).catch(() => {});
  }
}

interface LockHolder {
  text: string;
  pid: number;
  host: string;
}

async function readHolder(lockPath: string): Promise<LockHolder | null> {
  const text = await readFile(lockPath, "utf8").catch(() => null);
  const match = text?.match(/^(\d+) (\S+)\n$/);
  if (!text || !match) return null; // vanished meanwhile, or foreign: treat as held
  return { text, pid: Number(match[1]), host: match[2]! };
}

function isStale(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return false; // cannot check a PID on another machine
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

async function breakStaleLock(lockPath: string, staleText: string): Promise<void> {
  const aside = `${lockPath}.stale.${process.pid}.${randomBytes(4).toString("hex")}`;
  try {
    await rename(lockPath, aside);
  } catch {
    return; // another process broke or released it first
  }
  const moved = await readFile(aside, "utf8").catch(() => null);
  if (moved !== staleText) {
    // Between our read and rename a live process took the lock: put it back.
    await link(aside, lockPath).catch(() => {});
  }
  await unlink(aside).catch(() => {});
}
