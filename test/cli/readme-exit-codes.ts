import { readFileSync } from "node:fs";

/** The README's "Exit codes" table: exit code → meaning. */
export function readmeExitCodes(): Map<number, string> {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## Exit codes"));
  const table = section.slice(0, section.indexOf("\n## "));
  const rows = new Map<number, string>();
  for (const match of table.matchAll(/^\|\s*(\d+)\s*\|\s*(.+?)\s*\|$/gm)) {
    rows.set(Number(match[1]), match[2]!);
  }
  return rows;
}
