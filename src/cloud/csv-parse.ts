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
