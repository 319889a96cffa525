import { describe, expect, it } from "vitest";
import {
  formatErrorSummary,
  formatLegacyErrorSummary,
  parseErrorSummary,
} from "../../src/cloud/index.js";
import { readVector } from "../vectors.js";

// The 2021 vector: 5 rows, rows 2 and 3 (0-based) failed with these messages.
const vector = readVector("bulk_ops_onboarding_result_2021.txt");
const vectorRows = [...vector.matchAll(/^([0-9a-f-]{36}),(.+)$/gm)].map((m) => ({
  deviceId: m[1] as string,
  result: m[2] as string,
}));

describe("parseErrorSummary", () => {
  it("reads the vector's device table (5 rows, 2 failures)", () => {
    expect(vectorRows).toHaveLength(5);
    expect(vectorRows.filter((r) => r.result !== "OK")).toHaveLength(2);
  });

  it("parses the current 0-based format with the vector's messages", () => {
    const text =
      '{"errors":["[2]: The device certificate is already registered and attached to a different device.","[3]: Thing 50503642-3633-4685-802c-1c2c0bf87a22 already exists in account with different attributes"]}';
    const parsed = parseErrorSummary(text);
    expect(parsed.format).toBe("current");
    if (parsed.format === "unparseable") throw new Error("unreachable");
    const mapped = parsed.errors.map((e) => ({
      deviceId: vectorRows[e.row]?.deviceId,
      message: e.message,
    }));
    expect(mapped).toEqual(
      vectorRows
        .filter((r) => r.result !== "OK")
        .map((r) => ({ deviceId: r.deviceId, message: r.result })),
    );
  });

  it("parses the old 1-based format into the same 0-based rows", () => {
    const errors = [
      {
        row: 2,
        message: "The device certificate is already registered and attached to a different device.",
      },
      { row: 3, message: "Thing x already exists in account with different attributes" },
    ];
    const legacy = formatLegacyErrorSummary(errors);
    expect(legacy).toContain("(1-based)]: ");
    expect(legacy).toContain("[3]"); // 1-based row of the first error
    expect(parseErrorSummary(legacy)).toEqual({ format: "legacy", errors });
    expect(parseErrorSummary(formatErrorSummary(errors))).toEqual({ format: "current", errors });
  });

  it("keeps unparseable summaries raw", () => {
    for (const text of ["<html>oops</html>", '{"errors":["no row"]}', '{"x":1}', ""]) {
      expect(parseErrorSummary(text)).toEqual({ format: "unparseable", raw: text });
    }
  });
});
