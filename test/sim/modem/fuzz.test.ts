import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { connectSim } from "./helpers.js";

const commandNames = [
  "",
  "+CFUN",
  "+CMEE",
  "+CGSN",
  "+CCLK",
  "%CMNG",
  "%KEYGEN",
  "%JWT",
  "%ATTESTTOKEN",
  "%XMODEMUUID",
];
const tail = fc
  .stringMatching(/^[=?,0-9A-Za-z"/:+ -]{0,40}$/)
  .filter((text) => (text.match(/"/g)?.length ?? 0) % 2 === 0);

describe("simulated modem under arbitrary commands", () => {
  it("property: every command gets exactly one final result code and the modem keeps serving", async () => {
    const { reader } = connectSim({ functionalMode: 4 });
    await reader.send("AT+CMEE=1");
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...commandNames), tail, async (name, rest) => {
        const lines = await reader.send(`AT${name}${rest}`);
        const finals = lines.filter((line) => /^(OK|ERROR|\+CME ERROR: \d+)$/.test(line));
        expect(finals).toHaveLength(1);
        expect(lines[lines.length - 1]).toBe(finals[0]);
      }),
      { numRuns: 300 },
    );
    expect(await reader.send("AT")).toEqual(["OK"]);
  });
});
