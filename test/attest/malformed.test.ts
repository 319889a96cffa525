import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AttestError, parseAttestationToken, parseKeygenOutput } from "../../src/attest/index.js";
import { readVector } from "../vectors.js";

const keygenVector = readVector("keygen_csr_sectag17_uuid50363154.txt").trim();
const [bodyPart, cosePart] = keygenVector.split(".") as [string, string];
const tokenVector = readVector("attesttoken_uuid50363154.txt").trim();

/** Parses or throws AttestError; anything else fails the property. */
function parsesOrAttestError(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (error) {
    return error instanceof AttestError;
  }
}

describe("malformed keygen output", () => {
  it.each([
    ["", "empty"],
    ["garbage", "two base64url parts"],
    ["a.b.c", "got 3 part"],
    [`${bodyPart}!.${cosePart}`, "not base64url"],
    [`${bodyPart}.${cosePart.slice(0, -5)}`, "COSE_Sign1"],
    [`${bodyPart.slice(0, -4)}.${cosePart}`, "keygen body"],
    [`%KEYGEN: "${keygenVector}`, "unbalanced quotes"],
    [`%ATTESTTOKEN: "${keygenVector}"`, "expected a %KEYGEN response"],
    [`${cosePart}.${cosePart}`, "keygen body"],
    [`${bodyPart}.${bodyPart}`, "COSE_Sign1"],
  ])("%# names the broken part", (input, fragment) => {
    expect(() => parseKeygenOutput(input)).toThrow(
      expect.objectContaining({
        name: "AttestError",
        code: "ERR_KEYGEN_MALFORMED",
        message: expect.stringContaining(fragment),
      }),
    );
  });

  it("rejects a token passed as keygen output (wrong payload shape)", () => {
    expect(() => parseKeygenOutput(tokenVector)).toThrow(
      expect.objectContaining({ name: "AttestError", code: "ERR_KEYGEN_MALFORMED" }),
    );
  });

  it("property: arbitrary strings parse or throw AttestError", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 300 }),
        (text) =>
          parsesOrAttestError(() => parseKeygenOutput(text)) &&
          parsesOrAttestError(() => parseAttestationToken(text)),
      ),
      { numRuns: 500 },
    );
  });

  it("property: arbitrary bytes in either part parse or throw AttestError", () => {
    const part = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString("base64url"));
    fc.assert(
      fc.property(
        part,
        part,
        (a, b) =>
          parsesOrAttestError(() => parseKeygenOutput(`${a}.${b}`)) &&
          parsesOrAttestError(() => parseAttestationToken(`${a}.${b}`)),
      ),
      { numRuns: 500 },
    );
  });

  it("property: single-byte corruptions of real output parse or throw AttestError", () => {
    const body = Buffer.from(bodyPart, "base64url");
    const cose = Buffer.from(cosePart, "base64url");
    const [tokenMessage, tokenCose] = tokenVector
      .split(".")
      .map((p) => Buffer.from(p, "base64url")) as [Buffer, Buffer];
    const corrupt = (bytes: Buffer, index: number, value: number) => {
      const copy = Buffer.from(bytes);
      copy[index % copy.length] = value;
      return copy.toString("base64url");
    };
    fc.assert(
      fc.property(
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        (index, value, inBody) => {
          const keygen = inBody
            ? `${corrupt(body, index, value)}.${cosePart}`
            : `${bodyPart}.${corrupt(cose, index, value)}`;
          const token = inBody
            ? `${corrupt(tokenMessage, index, value)}.${tokenCose.toString("base64url")}`
            : `${tokenMessage.toString("base64url")}.${corrupt(tokenCose, index, value)}`;
          return (
            parsesOrAttestError(() => parseKeygenOutput(keygen)) &&
            parsesOrAttestError(() => parseAttestationToken(token))
          );
        },
      ),
      { numRuns: 600 },
    );
  });

  it("property: truncations of real output parse or throw AttestError", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: keygenVector.length }),
        fc.nat({ max: tokenVector.length }),
        (k, t) =>
          parsesOrAttestError(() => parseKeygenOutput(keygenVector.slice(0, k))) &&
          parsesOrAttestError(() => parseAttestationToken(tokenVector.slice(0, t))),
      ),
    );
  });
});
