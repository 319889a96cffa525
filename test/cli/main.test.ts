import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";

function captureIo() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on("data", (c) => out.push(String(c)));
  stderr.on("data", (c) => err.push(String(c)));
  return {
    io: { stdout, stderr, isTTY: false, interrupted: new Promise<void>(() => {}) },
    out: () => out.join(""),
    err: () => err.join(""),
  };
}

describe("cli", () => {
  it("prints the version and exits 0", async () => {
    const { io, out } = captureIo();
    expect(await runCli(["--version"], io)).toBe(0);
    expect(out().trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("exits 2 on an unknown command", async () => {
    const { io, err } = captureIo();
    expect(await runCli(["no-such-command"], io)).toBe(2);
    expect(err()).toMatch(/unknown command|too many arguments/);
  });
});
