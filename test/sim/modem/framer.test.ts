import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_COMMAND_BYTES, SimCommandFramer } from "../../../src/sim/modem/framer.js";

const bytes = (text: string) => Buffer.from(text, "utf8");
const texts = (framer: SimCommandFramer, input: string) =>
  framer.push(bytes(input)).map((c) => c.text);

describe("SimCommandFramer (AT_HOST framing rules)", () => {
  it("CR mode: CR ends a command; the LF of a CRLF is tolerated at the start of the next", () => {
    const framer = new SimCommandFramer("\r");
    expect(texts(framer, "AT\r\nAT+CGSN\r\n")).toEqual(["AT", "AT+CGSN"]);
  });

  it("CRLF mode: LF ends only after CR; a lone CR waits", () => {
    const framer = new SimCommandFramer("\r\n");
    expect(texts(framer, "AT\r")).toEqual([]);
    expect(texts(framer, "\n")).toEqual(["AT"]);
    expect(texts(framer, "AT+CFUN?\nAT\r\n")).toEqual(["AT+CFUN?\nAT"]);
  });

  it("LF mode: a CR before the LF stays in the command (so `AT\\r` is rejected later)", () => {
    const framer = new SimCommandFramer("\n");
    expect(texts(framer, "AT\r\n")).toEqual(["AT\r"]);
  });

  it("terminators inside quotes are data: a multi-line PEM arrives whole", () => {
    const framer = new SimCommandFramer("\r\n");
    const pem = "-----BEGIN CERTIFICATE-----\r\nMIIB\r\n-----END CERTIFICATE-----\r\n";
    expect(texts(framer, `AT%CMNG=0,16,0,"${pem}"\r\nAT\r\n`)).toEqual([
      `AT%CMNG=0,16,0,"${pem}"`,
      "AT",
    ]);
  });

  it("ignores blank commands and applies backspace", () => {
    const framer = new SimCommandFramer("\r\n");
    expect(texts(framer, "\r\n  \r\nATX\bI\r\n")).toEqual(["ATI"]);
  });

  it(`keeps ${MAX_COMMAND_BYTES} bytes and flags a longer command as overflowed`, () => {
    const framer = new SimCommandFramer("\r\n");
    const [fits] = framer.push(bytes(`AT${"A".repeat(MAX_COMMAND_BYTES - 2)}\r\n`));
    expect(fits?.overflowed).toBe(false);
    const [long] = framer.push(bytes(`AT${"A".repeat(MAX_COMMAND_BYTES - 1)}\r\n`));
    expect(long?.overflowed).toBe(true);
    expect(long?.text.length).toBe(MAX_COMMAND_BYTES);
  });

  it("shell mode: CR, LF or CRLF end a line, quotes do not group, blank lines are reported", () => {
    const framer = new SimCommandFramer("\r\n", true);
    expect(texts(framer, 'at AT%CMNG=0,1,0,\\"x\\"\r\n\rat AT\n')).toEqual([
      'at AT%CMNG=0,1,0,\\"x\\"',
      "",
      "at AT",
    ]);
  });

  it("property: any chunking of a byte stream frames the same commands", () => {
    const stream = bytes('AT+CGSN\r\nAT%CMNG=0,1,0,"a\r\nb"\r\n\r\nAT+CFUN=4\r\n');
    const whole = new SimCommandFramer("\r\n").push(stream);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 8 }), (cuts) => {
        const framer = new SimCommandFramer("\r\n");
        const points = [...new Set([0, ...cuts, stream.length])].sort((a, b) => a - b);
        const framed = points
          .slice(1)
          .flatMap((end, i) => framer.push(stream.subarray(points[i], end)));
        expect(framed).toEqual(whole);
      }),
    );
  });
});
