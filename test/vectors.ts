import { readFileSync } from "node:fs";

/** Real modem output and reference data, kept in the repository (see its README for sources). */
export const vectorsUrl = new URL("./fixtures/vectors/", import.meta.url);

/** Reads a vector as text (exact bytes, UTF-8). */
export function readVector(name: string): string {
  return readFileSync(new URL(name, vectorsUrl), "utf8");
}

/** The filesystem path of a vector (for tools such as openssl). */
export function vectorPath(name: string): string {
  return new URL(name, vectorsUrl).pathname;
}
