import { readFile } from "node:fs/promises";
import { PipelineError } from "./errors.js";

/**
 * The root CA PEM(s) written to the sec tag as type 0: Amazon Root CA 1 as bundled (the
 * exact bytes whose `%CMNG` hash is known), or the given files concatenated in order, each
 * ending with one LF.
 */
export async function loadRootCaBundle(files: readonly string[] = []): Promise<string> {
  if (files.length === 0) {
    return readFile(new URL("../../assets/AmazonRootCA1.pem", import.meta.url), "utf8");
  }
  const parts = await Promise.all(
    files.map(async (file) => {
      const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
        throw new PipelineError(
          "ERR_USAGE",
          `cannot read the root CA file ${file} (${error.code ?? error.message}); check --root-ca`,
          { cause: error, details: { file } },
        );
      });
      if (!text.includes("-----BEGIN CERTIFICATE-----")) {
        throw new PipelineError(
          "ERR_USAGE",
          `${file} holds no PEM certificate; --root-ca takes PEM files (BEGIN CERTIFICATE)`,
          { details: { file } },
        );
      }
      // The modem hashes the bytes as written: normalise to LF so the hash is predictable.
      return `${text.replaceAll("\r\n", "\n").trimEnd()}\n`;
    }),
  );
  return parts.join("");
}
