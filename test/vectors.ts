import { readFileSync } from "node:fs";

/** The shared test vectors live next to the repository: `../shared/vectors/<name>`. */
export const vectorsUrl = new URL("../../shared/vectors/", import.meta.url);

/** Reads a shared vector as text (exact bytes, UTF-8). */
export function readVector(name: string): string {
  return readFileSync(new URL(name, vectorsUrl), "utf8");
}

/** The filesystem path of a shared vector (for tools such as openssl). */
export function vectorPath(name: string): string {
  return new URL(name, vectorsUrl).pathname;
}
