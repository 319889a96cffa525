/** The final result code that ends every AT response (nrf91-at.md §2.2). */
export type FinalResult =
  | { kind: "ok" }
  | { kind: "error" }
  | { kind: "cme"; code: number | null; text: string }
  | { kind: "cms"; code: number | null; text: string };

const extendedError = /^\+(CME|CMS) ERROR:\s*(.*)$/;

/**
 * Parses a whole line as a final result code, or returns null. Only whole lines count:
 * base64url payloads contain `OK` and `ERROR` as substrings.
 */
export function parseFinalResult(line: string): FinalResult | null {
  const trimmed = line.trim();
  if (trimmed === "OK") return { kind: "ok" };
  if (trimmed === "ERROR") return { kind: "error" };
  const match = extendedError.exec(trimmed);
  if (!match) return null;
  const text = match[2] ?? "";
  // CMEE=2 firmware answers with text instead of a number; keep it.
  const code = /^\d+$/.test(text) ? Number(text) : null;
  return { kind: match[1] === "CME" ? "cme" : "cms", code, text };
}

export function isFinalResultLine(line: string): boolean {
  return parseFinalResult(line) !== null;
}
