import { open } from "node:fs/promises";
import { FileError, fileSystemError } from "./errors.js";

/**
 * The largest input file read by default: 64 MiB. A batch of 10,000 CSRs in PEM is about
 * 6 MB, so this leaves room; above it a file is refused before it is parsed.
 */
export const DEFAULT_MAX_INPUT_BYTES = 64 * 1024 * 1024;

/**
 * Reads a whole input file, at most `maxBytes` (ERR_IO_TOO_LARGE above, ERR_IO_READ when it
 * cannot be read). Reads in chunks so pipes and devices are bounded too, not only files.
 */
export async function readInputFile(
  path: string,
  options: { what?: string; maxBytes?: number } = {},
): Promise<Buffer> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
  const what = options.what ?? "file";
  let file: Awaited<ReturnType<typeof open>>;
  try {
    file = await open(path, "r");
  } catch (error) {
    throw fileSystemError("ERR_IO_READ", `read the ${what}`, path, error);
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(1 << 20, maxBytes + 1 - total));
      const { bytesRead } = await file.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      chunks.push(chunk.subarray(0, bytesRead));
      if (total > maxBytes) throw tooLarge(path, what, maxBytes);
    }
    return Buffer.concat(chunks, total);
  } catch (error) {
    if (error instanceof FileError) throw error;
    throw fileSystemError("ERR_IO_READ", `read the ${what}`, path, error);
  } finally {
    await file.close();
  }
}

function tooLarge(path: string, what: string, maxBytes: number): FileError {
  return new FileError(
    "ERR_IO_TOO_LARGE",
    `The ${what} ${path} is larger than ${formatBytes(maxBytes)}, the most read from one file: split it into smaller files.`,
    { details: { path, maxBytes } },
  );
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}
