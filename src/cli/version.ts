import { readFileSync } from "node:fs";

/** The version from package.json (read once; the file ships with the package). */
export const packageVersion: string = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;
