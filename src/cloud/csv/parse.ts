import { CsvError } from "../errors.js";
import type { CertificateRow, OnboardingRow, PublicKeyRow } from "./rules.js";

/** A CSV record with the 0-based row index it had in the text. */
export interface CsvRecord {
  row: number;
  fields: string[];
}

/**
 * Splits RFC 4180 text into records (LF or CRLF terminators, quoted fields may hold line
 * breaks and doubled quotes). A blank line is returned as a record with one empty field so
 * callers can refuse it; a final terminator is optional. Throws on an unterminated quote.
 */
export function parseCsvRecords(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  const endRecord = () => {
    fields.push(field);
    records.push({ row: records.length, fields });
    fields = [];
    field = "";
  };
  while (i < text.length) {
    const char = text[i] as string;
    if (quoted) {
      if (char === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += char;
      }
      i += 1;
      continue;
    }
    if (char === '"' && field.length === 0) {
      quoted = true;
    } else if (char === ",") {
      fields.push(field);
      field = "";
    } else if (char === "\n" || (char === "\r" && text[i + 1] === "\n")) {
      endRecord();
      if (char === "\r") i += 1;
    } else {
      field += char;
    }
    i += 1;
  }
  if (quoted) throw new SyntaxError(`unterminated quoted field in CSV row ${records.length + 1}`);
  if (field.length > 0 || fields.length > 0) endRecord();
  return records;
}

/**
 * Splits CSV text into record texts, each with its line break (a last one lacking it gets
 * one), honouring quoted multi-line PEMs; blank records are dropped. For rewriting a file
 * row by row without reformatting the rows kept.
 */
export function splitCsvRecords(text: string): string[] {
  const records: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') quoted = !quoted;
    else if (char === "\n" && !quoted) {
      records.push(text.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < text.length) records.push(`${text.slice(start)}\n`);
  return records.filter((record) => record.trim() !== "");
}

/** The device ID of a record text from `splitCsvRecords` (its first field; never quoted). */
export function recordDeviceId(record: string): string {
  const comma = record.indexOf(",");
  return (comma === -1 ? record : record.slice(0, comma)).trim();
}

/** An OnboardDevices CSV (`deviceId,subType,tags,fwTypes,"PEM"`, no header) as rows. */
export function parseOnboardingCsv(text: string): OnboardingRow[] {
  return parseCsvColumns(text, 5).map(
    ([deviceId, subType, tags, fwTypes, certificate]): OnboardingRow => ({
      deviceId,
      certificate,
      subType,
      tags: splitList(tags),
      supportedFirmwareTypes: splitList(fwTypes),
    }),
  );
}

/** A RegisterCertificates CSV (`deviceId,"PEM"`, no header) as rows. */
export function parseCertificatesCsv(text: string): CertificateRow[] {
  return parseCsvColumns(text, 2).map(([deviceId, certificate]) => ({ deviceId, certificate }));
}

/** A RegisterPublicKeys CSV (`deviceId,"PEM"`, no header) as rows. */
export function parsePublicKeysCsv(text: string): PublicKeyRow[] {
  return parseCsvColumns(text, 2).map(([deviceId, publicKey]) => ({ deviceId, publicKey }));
}

/** `a|b` list columns (tags, firmware types); empty means none. */
function splitList(text: string): string[] {
  return text === "" ? [] : text.split("|").map((item) => item.trim());
}

/** Records of exactly `columns` fields (no header, no blank lines), or ERR_CSV_INVALID. */
function parseCsvColumns<N extends 2 | 5>(
  text: string,
  columns: N,
): Array<N extends 2 ? [string, string] : [string, string, string, string, string]> {
  let records: CsvRecord[];
  try {
    records = parseCsvRecords(text);
  } catch (error) {
    throw new CsvError(`The CSV file is malformed: ${(error as Error).message}.`, {
      reason: "malformed",
    });
  }
  return records.map(({ row, fields }) => {
    if (fields.length !== columns) {
      const deviceId = fields[0] ?? "";
      const reason =
        fields.length === 1 && deviceId === ""
          ? "blank line (nRF Cloud refuses blank lines)"
          : `${fields.length} columns, expected ${columns}`;
      // Rows are numbered from 1, as an editor numbers the file's lines (there is no header).
      throw new CsvError(`CSV row ${row + 1}: ${reason}. Fix the file; nothing was uploaded.`, {
        row,
        deviceId,
        field: "row",
        reason,
      });
    }
    return fields as never;
  });
}
