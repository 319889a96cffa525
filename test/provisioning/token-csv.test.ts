import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  formatTokenRow,
  parseTokenCsv,
  pythonIsoTime,
  upsertTokenRow,
  writeTokenRow,
} from "../../src/provisioning/index.js";
import { readVector } from "../vectors.js";

// The token of nrfcloud-utils' tests/test_claim_and_provision_device.py (reference §4), and the
// row gather_attestation_tokens writes for it (reference §2.3: imei,uuid,token,timestamp, no header).
const token = readVector("attesttoken_uuid50363154.txt").trim();
const uuid = "50363154-3931-44f0-8022-121b6401627d";
const row = {
  imei: "355025930000000",
  deviceUuid: uuid,
  token,
  time: "2026-12-02T10:00:00.123000+00:00",
};

/** Python's csv.reader, keeping the first four columns: what utils' claim_devices reads. */
function readAsNordic(text: string): string[][] {
  const script =
    "import csv,io,json,sys\nprint(json.dumps([r[:4] for r in csv.reader(io.StringIO(sys.stdin.read())) if r]))";
  return JSON.parse(execFileSync("python3", ["-c", script], { input: text, encoding: "utf8" }));
}

describe("the token CSV", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "token-csv-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes Nordic's row: imei,uuid,token,Python isoformat time, LF, no quoting, no header", () => {
    expect(formatTokenRow(row)).toBe(
      `355025930000000,${uuid},${token},2026-12-02T10:00:00.123000+00:00\n`,
    );
    expect(pythonIsoTime(Date.UTC(2026, 11, 2, 10, 0, 0, 123))).toBe(
      "2026-12-02T10:00:00.123000+00:00",
    );
    expect(readAsNordic(formatTokenRow(row))).toEqual([[row.imei, uuid, token, row.time]]);
  });

  it("reads a file Nordic's tool wrote (quoted fields, CRLF, a fifth column, a blank line)", () => {
    const text = `"355025930000000","${uuid}","${token}","${row.time}",extra\r\n\r\n352656100367872,${uuid.replace("50", "51")},${token},${row.time}\n`;
    const rows = parseTokenCsv(text, "tokens.csv");
    expect(rows.map((r) => [r.line, r.imei, r.deviceUuid, r.token === token, r.time])).toEqual([
      [1, "355025930000000", uuid, true, row.time],
      [3, "352656100367872", uuid.replace("50", "51"), true, row.time],
    ]);
    expect(readAsNordic(text).map((r) => r[0])).toEqual(["355025930000000", "352656100367872"]);
  });

  it("refuses a row without a token column, naming the file and line", () => {
    expect(() => parseTokenCsv(`${formatTokenRow(row)}355025930000000,${uuid}\n`, "t.csv")).toThrow(
      expect.objectContaining({
        code: "ERR_PROVISIONING_TOKEN_CSV",
        message: expect.stringContaining("t.csv:2"),
      }),
    );
  });

  it("replaces a device's row by UUID, or keeps it with keep; other rows stay", async () => {
    const other = {
      ...row,
      imei: "352656100367872",
      deviceUuid: "51363154-3931-44f0-8022-121b6401627d",
    };
    const file = join(dir, "tokens.csv");
    expect(await writeTokenRow(file, row, { keep: false })).toBe("appended");
    expect(await writeTokenRow(file, other, { keep: false })).toBe("appended");
    const newer = { ...row, time: "2026-12-03T10:00:00.000000+00:00" };
    expect(await writeTokenRow(file, newer, { keep: true })).toBe("kept");
    expect(await readFile(file, "utf8")).toBe(formatTokenRow(row) + formatTokenRow(other));
    expect(await writeTokenRow(file, newer, { keep: false })).toBe("replaced");
    const text = await readFile(file, "utf8");
    expect(text).toBe(formatTokenRow(newer) + formatTokenRow(other));
    expect(readAsNordic(text)).toHaveLength(2);
    expect(upsertTokenRow("", row, { keep: false, file }).text).toBe(formatTokenRow(row));
  });

  it("appends after a last line without its line end", async () => {
    const file = join(dir, "tokens.csv");
    await writeFile(file, formatTokenRow(row).trimEnd());
    const other = { ...row, deviceUuid: "51363154-3931-44f0-8022-121b6401627d" };
    await writeTokenRow(file, other, { keep: false });
    expect(parseTokenCsv(await readFile(file, "utf8"), file)).toHaveLength(2);
  });
});
