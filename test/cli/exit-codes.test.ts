import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ExitCode, exitCodeByErrorCode, exitCodeForErrorCode } from "../../src/cli/exit-codes.js";
import { readmeExitCodes } from "./readme-exit-codes.js";

const srcDir = fileURLToPath(new URL("../../src/", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every error code the source can throw: every code is a literal (no code is built at run time). */
function codesInSource(): Set<string> {
  const codes = new Set<string>();
  for (const file of sourceFiles(srcDir)) {
    if (file.endsWith(join("cli", "exit-codes.ts"))) continue;
    for (const match of readFileSync(file, "utf8").matchAll(/"(ERR_[A-Z0-9_]+)"/g)) {
      // Node's own codes (node:crypto's ERR_CRYPTO_*) are read, never thrown by us.
      if (!match[1]!.startsWith("ERR_CRYPTO_")) codes.add(match[1]!);
    }
  }
  return codes;
}

describe("the exit-code table", () => {
  it("lists every error code the source throws, and no other", () => {
    const inSource = [...codesInSource()].sort();
    const inTable = Object.keys(exitCodeByErrorCode).sort();
    expect(inTable).toEqual(inSource);
  });

  it("maps codes exactly, with no prefix matching", () => {
    expect(exitCodeForErrorCode("ERR_AT_TIMEOUT")).toBe(ExitCode.DEVICE);
    expect(exitCodeForErrorCode("ERR_INPUT_FILE")).toBe(ExitCode.USAGE);
    expect(exitCodeForErrorCode("ERR_CLOUD_CONFIG")).toBe(ExitCode.USAGE);
    expect(exitCodeForErrorCode("ERR_PROVISION_ISSUE")).toBe(ExitCode.CA);
    expect(exitCodeForErrorCode("ERR_PROVISION_ONBOARD")).toBe(ExitCode.CLOUD);
    expect(exitCodeForErrorCode("ERR_PROVISION_STEP_FAILED")).toBe(ExitCode.DEVICE);
    // A code that merely starts like a known one is not known.
    expect(exitCodeForErrorCode("ERR_AT_SOMETHING_NEW")).toBe(ExitCode.FAILURE);
    expect(exitCodeForErrorCode("toString")).toBe(ExitCode.FAILURE);
    // A per-step code of older versions (now ERR_PROVISION_STEP_FAILED), e.g. in an old journal.
    expect(exitCodeForErrorCode("ERR_PROVISION_CONNECT")).toBe(ExitCode.FAILURE);
  });

  it("uses only exit codes the README documents, and the README documents every one", () => {
    const documented = readmeExitCodes();
    expect([...documented.keys()].sort((a, b) => a - b)).toEqual(
      Object.values(ExitCode).sort((a, b) => a - b),
    );
    for (const exit of new Set(Object.values(exitCodeByErrorCode))) {
      expect(documented.has(exit), `exit ${exit}`).toBe(true);
    }
  });
});
