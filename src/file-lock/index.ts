// Cross-process lock files ("<pid> <host>"), shared by the CA ledger and the station journal:
// taken atomically, broken when the holder died on this host, released by the holder.

export {
  acquireFileLock,
  type FileLockErrorCode,
  FileLockedError,
  type FileLockOptions,
} from "./file-lock.js";
