import { describe, expect, it } from "vitest";
import {
  type CommandDecodeError,
  decodeCommands,
  encodeResponses,
} from "../../../src/sim/device-agent/index.js";

// sdk-nrf's codec test vectors (reference §3.4), and the same batches with indefinite-length
// arrays, as a build without ZCBOR_CANONICAL may send them.

const text = (s: string) => {
  const bytes = Buffer.from(s);
  if (bytes.length < 24) return Buffer.concat([Buffer.from([0x60 + bytes.length]), bytes]);
  return Buffer.concat([Buffer.from([0x78, bytes.length]), bytes]);
};
const FINISHED_ID = "9685ef84-8cac-4257-b5cc-94bc416a1c1d.d";

describe("the device agent's CBOR codec", () => {
  it("decodes the SDK's finished vector and answers with its exact bytes", () => {
    const body = Buffer.concat([Buffer.from([0x81, 0x82]), text(FINISHED_ID), Buffer.from([0x02])]);
    expect(body.subarray(0, 4).toString("hex")).toBe("81827826");
    expect(decodeCommands(body, 10)).toEqual([{ kind: "finished", correlationId: FINISHED_ID }]);
    const answer = encodeResponses([{ kind: "finished-ack", correlationId: FINISHED_ID }]);
    expect(Buffer.from(answer).toString("hex")).toBe(
      Buffer.concat([
        Buffer.from([0x81, 0x82]),
        text(FINISHED_ID),
        Buffer.from([0x18, 0x66]),
      ]).toString("hex"),
    );
  });

  it("decodes indefinite-length arrays as well as definite ones", () => {
    const id = "89ed369b-aaaa-bbbb-cccc-aabb7fe8130b.e";
    const indefinite = Buffer.concat([
      Buffer.from([0x9f, 0x9f]),
      text(`${id}.s`),
      Buffer.from([0x00]),
      text("%CMNG"),
      text("3,16842753,2"),
      Buffer.from([0x9f, 0x19, 0x02, 0x01, 0xff]), // [513]
      Buffer.from([0xff, 0x9f]),
      text(id),
      Buffer.from([0x00]),
      text("%KEYGEN"),
      text("16842753,2,1"),
      Buffer.from([0x80, 0xff, 0xff]),
    ]);
    expect(decodeCommands(indefinite, 10)).toEqual([
      {
        kind: "at",
        correlationId: `${id}.s`,
        setCommand: "%CMNG",
        parameters: "3,16842753,2",
        ignoreCme: [513],
      },
      {
        kind: "at",
        correlationId: id,
        setCommand: "%KEYGEN",
        parameters: "16842753,2,1",
        ignoreCme: [],
      },
    ]);
  });

  it("refuses an empty batch (EINVAL), one above the limit (ENOMEM) and a correlation ID over 45 characters", () => {
    const errno = (body: Uint8Array, limit?: number) => {
      try {
        decodeCommands(body, limit);
        return "decoded";
      } catch (error) {
        return (error as CommandDecodeError).errno;
      }
    };
    expect(errno(Buffer.from([0x80]), 10)).toBe("EINVAL");
    const three = Buffer.concat([
      Buffer.from([0x83]),
      ...[1, 2, 3].map((n) =>
        Buffer.concat([Buffer.from([0x82]), text(`id.${n}`), Buffer.from([0x02])]),
      ),
    ]);
    expect(errno(three, 2)).toBe("ENOMEM");
    expect(errno(three, 3)).toBe("decoded");
    const long = Buffer.concat([
      Buffer.from([0x81, 0x82]),
      text(`${FINISHED_ID}.123456789`),
      Buffer.from([0x02]),
    ]);
    expect(errno(long, 10)).toBe("EINVAL");
  });
});
