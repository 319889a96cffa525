/** One failed row of a bulk operation as the error summary states it. */
export interface SummaryRowError {
  /** 0-based row of the uploaded CSV. */
  row: number;
  message: string;
}

export type ParsedErrorSummary =
  | { format: "current" | "legacy"; errors: SummaryRowError[] }
  | { format: "unparseable"; raw: string };

const CURRENT_ROW = /^\[(\d+)\]:\s*([\s\S]*)$/;
// Before 2025-12 the summary was prose, then this marker, then an escaped JSON object
// `{"<message>": [<1-based rows>]}` ending just before `."}` (UTILS ERR_FIND_*_STR).
const LEGACY_MARKER = "(1-based)]: ";

/** Parses an error summary in either format nRF Cloud has used; never throws. */
export function parseErrorSummary(text: string): ParsedErrorSummary {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (isCurrentSummary(json)) {
    const errors: SummaryRowError[] = [];
    for (const line of json.errors) {
      const match = CURRENT_ROW.exec(line);
      if (!match) return { format: "unparseable", raw: text };
      errors.push({ row: Number(match[1]), message: (match[2] ?? "").trim() });
    }
    return { format: "current", errors };
  }
  const legacy = parseLegacySummary(text);
  return legacy ? { format: "legacy", errors: legacy } : { format: "unparseable", raw: text };
}

function parseLegacySummary(text: string): SummaryRowError[] | null {
  const start = text.indexOf(LEGACY_MARKER);
  const end = text.lastIndexOf('."}');
  if (start < 0 || end <= start) return null;
  let inner = text.slice(start + LEGACY_MARKER.length, end);
  try {
    // The object is escaped inside a JSON string in the raw text; unescape it first.
    if (inner.includes('\\"')) inner = JSON.parse(`"${inner}"`) as string;
    const byMessage = JSON.parse(inner) as unknown;
    if (typeof byMessage !== "object" || byMessage === null || Array.isArray(byMessage))
      return null;
    const errors: SummaryRowError[] = [];
    for (const [message, rows] of Object.entries(byMessage)) {
      if (!Array.isArray(rows)) return null;
      for (const row of rows) {
        if (!Number.isInteger(row) || row < 1) return null;
        errors.push({ row: row - 1, message });
      }
    }
    return errors.sort((a, b) => a.row - b.row);
  } catch {
    return null;
  }
}

/** Renders the current format (what the simulator serves). */
export function formatErrorSummary(errors: readonly SummaryRowError[]): string {
  return JSON.stringify({ errors: errors.map((e) => `[${e.row}]: ${e.message}`) });
}

/** Renders the pre-2025-12 format with 1-based rows (for the simulator's legacy knob). */
export function formatLegacyErrorSummary(errors: readonly SummaryRowError[]): string {
  const byMessage: Record<string, number[]> = {};
  for (const e of errors) {
    const rows = byMessage[e.message] ?? [];
    rows.push(e.row + 1);
    byMessage[e.message] = rows;
  }
  const prose = `Bulk operation finished with ${errors.length} error(s) [row numbers are (1-based)]: ${JSON.stringify(byMessage)}.`;
  return JSON.stringify({ message: prose });
}

/** The current format, `{"errors": ["…", …]}` (checked by hand: zod is loaded only for responses). */
function isCurrentSummary(json: unknown): json is { errors: string[] } {
  if (typeof json !== "object" || json === null) return false;
  const errors = (json as { errors?: unknown }).errors;
  return Array.isArray(errors) && errors.every((line) => typeof line === "string");
}
