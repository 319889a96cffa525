import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type AtFrame, AtLineFramer, MAX_LINE_BYTES } from "../../src/at/index.js";
import { readVector } from "../vectors.js";
import { modemStream, readTranscript, serialReplies, transcriptNames } from "./transcripts.js";

const bytes = (text: string) => new Uint8Array(Buffer.from(text, "utf8"));

function frameAll(chunks: Uint8Array[]): AtFrame[] {
  const framer = new AtLineFramer();
  return chunks.flatMap((chunk) => framer.push(chunk));
}

const lines = (frames: AtFrame[]) =>
  frames.flatMap((frame) => (frame.kind === "line" ? [frame.text] : []));

/** Splits `data` at the given cut points (any number, any position). */
function split(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (data.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, data.length]) {
    chunks.push(data.subarray(start, point));
    start = point;
  }
  return chunks;
}

const pem = [
  "-----BEGIN CERTIFICATE-----",
  "MIIBjzCCATWgAwIBAgIUJ0dsd2uFsK0OgK2MQGh5aXpTqHQwCgYIKoZIzj0EAwIw",
  "-----END CERTIFICATE-----",
  "",
].join("\r\n");
const cmngRead = `%CMNG: 16842753,0,"2C43952EE9E000FF2ACC4E2ED0897C0A72AD5FA72C3D934E81741CBD54F05BD1","${pem}"`;

describe("AtLineFramer", () => {
  it("ends lines on CR, LF or CRLF and skips blank lines", () => {
    expect(lines(frameAll([bytes("\r\n+CFUN: 4\r\n\r\nOK\r\n\n\r  \r\nA\rB\nC\r\n")]))).toEqual([
      "+CFUN: 4",
      "OK",
      "A",
      "B",
      "C",
    ]);
  });

  it("keeps a quoted PEM spanning lines in one %CMNG read line", () => {
    const frames = frameAll([bytes(`${cmngRead}\r\nOK\r\n`)]);
    expect(lines(frames)).toEqual([cmngRead, "OK"]);
    expect(lines(frames)[0]).toContain('-----END CERTIFICATE-----\r\n"');
  });

  it("strips ANSI escapes even when split across chunks", () => {
    const stream = bytes(
      "\x1b[1;32muart:~$ \x1b[mat AT+CGSN\r\n\x1b[0m355025930000000\x1b[J\r\nOK\r\n",
    );
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(lines(frameAll(split(stream, [cut])))).toEqual([
        "uart:~$ at AT+CGSN",
        "355025930000000",
        "OK",
      ]);
    }
  });

  it("recovers from a stray quote when a final result code arrives", () => {
    const frames = frameAll([bytes('<inf> app: bad "quote\r\n+CEREG: 1\r\nOK\r\n+CSCON: 0\r\n')]);
    expect(frames).toEqual([
      {
        kind: "framing-error",
        reason: "unbalanced-quote",
        discarded: '<inf> app: bad "quote\r\n+CEREG: 1\r\n',
      },
      { kind: "line", text: "OK" },
      { kind: "line", text: "+CSCON: 0" },
    ]);
  });

  it("caps a line at 4096 bytes and carries on", () => {
    const frames = frameAll([bytes(`${"A".repeat(MAX_LINE_BYTES + 10)}\r\nOK\r\n`)]);
    expect(frames[0]).toMatchObject({ kind: "framing-error", reason: "line-too-long" });
    expect(frames.at(-1)).toEqual({ kind: "line", text: "OK" });
    expect(lines(frames)).toEqual(["AAAAAAAAAA", "OK"]);
  });

  it("decodes a UTF-8 character split across chunks", () => {
    const euro = bytes("€ ok\r\n");
    expect(lines(frameAll([euro.subarray(0, 1), euro.subarray(1)]))).toEqual(["€ ok"]);
  });

  it.each(transcriptNames)("frames %s identically under any chunking", (name) => {
    const exchanges = readTranscript(name);
    const expected = exchanges.flatMap((exchange) => exchange.received);
    const stream = bytes(modemStream(exchanges));
    expect(lines(frameAll([stream]))).toEqual(expected);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 40 }), (cuts) => {
        expect(lines(frameAll(split(stream, cuts)))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it.each(serialReplies)("frames $file identically under any chunking", ({ file }) => {
    const wire = readVector(file);
    const expected = wire.split("\r\n").filter((line) => line !== "");
    const stream = bytes(wire);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 20 }), (cuts) => {
        expect(lines(frameAll(split(stream, cuts)))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("frames a quoted multi-line response identically under any chunking", () => {
    const stream = bytes(`+CEREG: 5\r\n${cmngRead}\r\nOK\r\n`);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 30 }), (cuts) => {
        expect(lines(frameAll(split(stream, cuts)))).toEqual(["+CEREG: 5", cmngRead, "OK"]);
      }),
    );
  });

  it("never throws on arbitrary bytes, and a final result code always gets through afterwards", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 12 }), (chunks) => {
        const framer = new AtLineFramer({ maxLineBytes: 512 });
        for (const chunk of chunks) framer.push(chunk);
        const after = framer.push(bytes("\r\nOK\r\n"));
        expect(after.at(-1)).toEqual({ kind: "line", text: "OK" });
      }),
      { numRuns: 500 },
    );
  });
});
