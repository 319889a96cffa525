import { NrfProvisionError } from "../errors/index.js";

/** Stable codes of the file layer (exit code 4, and 2 for an input file above the size cap). */
export type FileErrorCode =
  | "ERR_IO_EXISTS"
  | "ERR_IO_FILE_SYSTEM"
  | "ERR_IO_NOT_A_DIRECTORY"
  | "ERR_IO_PROTECTED"
  | "ERR_IO_READ"
  | "ERR_IO_SYMLINK"
  | "ERR_IO_TOO_LARGE"
  | "ERR_IO_WRITE";

/**
 * A file the tool reads or writes could not be used. Codes: `ERR_IO_EXISTS` (refused to
 * overwrite), `ERR_IO_SYMLINK` (the path is a symbolic link), `ERR_IO_PROTECTED` (a CA file,
 * never replaced), `ERR_IO_NOT_A_DIRECTORY`, `ERR_IO_WRITE`, `ERR_IO_READ`, `ERR_IO_TOO_LARGE`,
 * `ERR_IO_FILE_SYSTEM` (any other failed system call on a file).
 * `details.path` names the file.
 */
export class FileError extends NrfProvisionError<FileErrorCode> {}

/** What to do about a failed system call on `path`, by errno. */
export function adviceFor(code: string | undefined, path: string): string {
  switch (code) {
    case "ENOSPC":
    case "EDQUOT":
      return `The disk holding ${path} is full: free space and run again.`;
    case "EROFS":
      return `${path} is on a read-only file system: remount it read-write or use another folder.`;
    case "EACCES":
    case "EPERM":
      return `No permission to write ${path}: check its owner and mode (and \`lsattr\` for the immutable flag).`;
    case "EISDIR":
      return `${path} is a directory where a file belongs: move it aside.`;
    case "ENOTDIR":
      return `A part of ${path} is a file where a folder belongs: move it aside.`;
    case "ENOENT":
      return `${path} does not exist: check the path.`;
    case "ELOOP":
      return `${path} is a symbolic link, which is never followed: give the real path.`;
    default:
      return `Check that ${path} is a writable file on a healthy disk.`;
  }
}

/** Wraps a failed system call on `path` as an ERR_IO_* error that names the file and the fix. */
export function fileSystemError(
  code: "ERR_IO_WRITE" | "ERR_IO_READ" | "ERR_IO_FILE_SYSTEM",
  what: string,
  path: string,
  cause: unknown,
): FileError {
  const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
  const reason = errno ?? (cause as Error | undefined)?.message ?? String(cause);
  return new FileError(code, `Cannot ${what} ${path} (${reason}). ${adviceFor(errno, path)}`, {
    cause,
    details: { path, errno },
  });
}
