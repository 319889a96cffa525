/**
 * Every file the tool writes or reads as input goes through here: outputs are created
 * exclusively, never through a symbolic link, private ones always 0600, and never overwritten
 * without --force (and CA files not even then); inputs are read with a size cap. Failures are
 * `FileError`s (ERR_IO_*) that name the file and the fix.
 */
export { adviceFor, FileError, type FileErrorCode, fileSystemError } from "./errors.js";
export { DEFAULT_MAX_INPUT_BYTES, readInputFile } from "./read.js";
export {
  ensureDirectory,
  modeFor,
  PROTECTED_FILE_NAMES,
  refuseExisting,
  requireFolder,
  type WriteOptions,
  writeNewFile,
} from "./write.js";
