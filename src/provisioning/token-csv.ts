import { ProvisioningError } from "./errors.js";

// The attestation-token file of Nordic's `gather_attestation_tokens` / `claim_devices`
// (reference §2.3, §2.4): one `imei,uuid,token,timestamp` row per device, no header, `\n` line
// ends, minimal quoting (Python's csv module), a device's row replaced by UUID (column 2).

export interface TokenRow {
  imei: string;
  deviceUuid: string;
  /** The `AT%ATTESTTOKEN` value: `<base64url message>.<base64url COSE_Sign1>`. */
  token: string;
  /** `datetime.now(timezone.utc).isoformat()`, e.g. `2026-12-02T05:00:00.123000+00:00`. */
  time: string;
}

export interface ParsedTokenRow extends TokenRow {
  /** 1-based line in the file. */
  line: number;
}

/** An ISO time as Python's `isoformat()` writes a UTC datetime: microseconds and `+00:00`. */
export function pythonIsoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "000+00:00");
}

/** Python csv's minimal quoting: only a field with a comma, quote or line break is quoted. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function formatTokenRow(row: TokenRow): string {
  return `${[row.imei, row.deviceUuid, row.token, row.time].map(csvField).join(",")}\n`;
}

/**
 * Splits CSV text into records as Python's `csv.reader` (default dialect) does: `,` between
 * fields, `"` quotes with `""` for a quote, `\n` or `\r\n` ends a record, blank lines skipped.
 */
export function splitCsvRecords(
  text: string,
  file: string,
): Array<{ line: number; fields: string[] }> {
  const records: Array<{ line: number; fields: string[] }> = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === "")) records.push({ line: recordLine, fields });
    fields = [];
    field = "";
  };
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i] as string;
    const next = text[i + 1];
    if (quoted && char === '"' && next === '"') {
      field += '"';
      i += 1;
    } else if (quoted && char === '"') {
      quoted = false;
    } else if (quoted) {
      field += char;
      if (char === "\n") line += 1;
    } else if (char === '"' && field === "") {
      quoted = true;
    } else if (char === ",") {
      fields.push(field);
      field = "";
    } else if (char === "\n" || (char === "\r" && next === "\n")) {
      endRecord();
      if (char === "\r") i += 1;
      line += 1;
      recordLine = line;
    } else {
      field += char;
    }
  }
  if (quoted) {
    throw new ProvisioningError(
      "ERR_PROVISIONING_TOKEN_CSV",
      `${file}:${recordLine}: a quoted field is never closed; fix or remove that row.`,
      { details: { file, line: recordLine } },
    );
  }
  if (field !== "" || fields.length > 0) endRecord();
  return records;
}

/**
 * Reads a token file: each record's first four columns are IMEI, UUID, token, time (utils keeps
 * those four too). A record with fewer than three is refused, naming its line; the fields
 * themselves are checked where they are used (a malformed token fails its row, not the file).
 */
export function parseTokenCsv(text: string, file: string): ParsedTokenRow[] {
  return splitCsvRecords(text, file).map(({ line, fields }) => {
    if (fields.length < 3) {
      throw new ProvisioningError(
        "ERR_PROVISIONING_TOKEN_CSV",
        `${file}:${line}: expected imei,uuid,token[,time] (as gather-tokens and Nordic's gather_attestation_tokens write), got ${fields.length} field(s); fix or remove that row.`,
        { details: { file, line, fields: fields.length } },
      );
    }
    const [imei, deviceUuid, token, time] = fields.map((value) => value.trim());
    return {
      line,
      imei: imei ?? "",
      deviceUuid: deviceUuid ?? "",
      token: token ?? "",
      time: time ?? "",
    };
  });
}

export type TokenRowAction = "appended" | "replaced" | "kept";

/**
 * The file with `row` added: appended, or replacing the row of the same UUID (column 2), or,
 * with `keep`, the file unchanged when that UUID is already there (as utils' `--keep`).
 */
export function upsertTokenRow(
  text: string,
  row: TokenRow,
  options: { keep: boolean; file: string },
): { text: string; action: TokenRowAction } {
  const records = splitCsvRecords(text, options.file);
  const uuid = row.deviceUuid.toLowerCase();
  const existing = records.findIndex(
    (record) => (record.fields[1] ?? "").trim().toLowerCase() === uuid,
  );
  if (existing < 0) {
    const separator = text === "" || text.endsWith("\n") ? "" : "\n";
    return { text: `${text}${separator}${formatTokenRow(row)}`, action: "appended" };
  }
  if (options.keep) return { text, action: "kept" };
  const rewritten = records.map((record, index) =>
    index === existing ? formatTokenRow(row) : `${record.fields.map(csvField).join(",")}\n`,
  );
  return { text: rewritten.join(""), action: "replaced" };
}
