import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { initCa } from "../../src/ca/index.js";
import type { CliIo } from "../../src/cli/io.js";
import { runCli } from "../../src/cli/main.js";
import {
  canPrompt,
  HiddenLineEditor,
  newCaPassphrase,
  openCaWithPassphrase,
  promptHidden,
} from "../../src/cli/passphrase.js";
import { captureIo } from "./harness.js";

/** A terminal stdin: `isTTY`, `setRawMode` (recorded), and bytes "typed" with `write`. */
class FakeTty extends PassThrough {
  readonly isTTY = true;
  readonly rawModes: boolean[] = [];
  setRawMode(mode: boolean): this {
    this.rawModes.push(mode);
    return this;
  }
}

/** I/O on a fake terminal; answers each question that appears on stderr with the next reply. */
function terminal(options: { replies?: string[]; env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const stdin = new FakeTty();
  const capture = captureIo({ isTTY: true, stdin, env: options.env ?? {}, cwd: options.cwd });
  const replies = [...(options.replies ?? [])];
  capture.io.stderr.on("data", (chunk) => {
    if (/: $/.test(String(chunk)) && replies.length > 0) stdin.write(replies.shift());
  });
  return { stdin, io: capture.io as CliIo, out: capture.out, err: capture.err };
}

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "nrf-passphrase-"));
  dirs.push(dir);
  return dir;
}

describe("promptHidden", () => {
  it("reads a line in raw mode without echoing it; backspace edits", async () => {
    const { stdin, io, err } = terminal({ replies: ["hunter3x\u007f2\r"] });
    expect(await promptHidden(io, "CA passphrase: ")).toBe("hunter32");
    expect(stdin.rawModes).toEqual([true, false]);
    expect(err()).toBe("CA passphrase: \n");
    expect(stdin.listenerCount("data")).toBe(0);
    expect(stdin.isPaused()).toBe(true);
  });

  it("reads the answer across several chunks (one key at a time)", async () => {
    const { stdin, io } = terminal();
    const answer = promptHidden(io, "Q: ");
    for (const key of ["p", "w", "\b", "W", "!", "\n"]) stdin.write(key);
    expect(await answer).toBe("pW!");
  });

  it.each([
    ["Ctrl-C", "abc\u0003", "ERR_INTERRUPTED", /interrupted/],
    ["Ctrl-D on an empty line", "\u0004", "ERR_USAGE", /without an answer/],
  ])("%s aborts and leaves raw mode", async (_, keys, code, message) => {
    const { stdin, io } = terminal({ replies: [keys] });
    await expect(promptHidden(io, "Q: ")).rejects.toMatchObject({
      code,
      message: expect.stringMatching(message),
    });
    expect(stdin.rawModes).toEqual([true, false]);
  });

  it("the end of input aborts instead of waiting forever", async () => {
    const { stdin, io } = terminal();
    const answer = promptHidden(io, "Q: ");
    stdin.end("half");
    await expect(answer).rejects.toMatchObject({
      code: "ERR_USAGE",
      message: expect.stringMatching(/end of input/),
    });
    expect(stdin.rawModes).toEqual([true, false]);
  });

  it("prompts only when stdout and stdin are both terminals", () => {
    expect(canPrompt(terminal().io)).toBe(true);
    expect(canPrompt({ ...terminal().io, isTTY: false })).toBe(false);
    expect(canPrompt({ ...terminal().io, stdin: new PassThrough() })).toBe(false);
  });
});

describe("CA passphrase", () => {
  it("opens an encrypted CA with the prompted passphrase", async () => {
    const dir = await tempDir();
    await initCa({ dir: join(dir, "ca"), passphrase: "pw-1" });
    const { io, err } = terminal({ replies: ["pw-1\r"], cwd: dir });
    const ca = await openCaWithPassphrase(io, "ca");
    await ca.close();
    expect(err()).toBe("CA passphrase: \n");
  });

  it("uses NRF_PROVISION_CA_PASSPHRASE without prompting", async () => {
    const dir = await tempDir();
    await initCa({ dir: join(dir, "ca"), passphrase: "pw-2" });
    const { stdin, io, err } = terminal({ env: { NRF_PROVISION_CA_PASSPHRASE: "pw-2" }, cwd: dir });
    await (await openCaWithPassphrase(io, "ca")).close();
    expect(err()).toBe("");
    expect(stdin.rawModes).toEqual([]);
  });

  it("without a terminal, an encrypted CA fails naming the environment variable", async () => {
    const dir = await tempDir();
    await initCa({ dir: join(dir, "ca"), passphrase: "pw-3" });
    const io = captureIo({ env: {}, cwd: dir }).io as CliIo;
    await expect(openCaWithPassphrase(io, "ca")).rejects.toMatchObject({
      code: "ERR_CA_PASSPHRASE_REQUIRED",
      message: expect.stringContaining("NRF_PROVISION_CA_PASSPHRASE"),
    });
    await expect(newCaPassphrase(io)).rejects.toMatchObject({
      code: "ERR_CA_PASSPHRASE_REQUIRED",
      message: expect.stringContaining("NRF_PROVISION_CA_PASSPHRASE is not set"),
    });
  });

  it("a wrong prompted passphrase is ERR_CA_PASSPHRASE", async () => {
    const dir = await tempDir();
    await initCa({ dir: join(dir, "ca"), passphrase: "pw-4" });
    const { io } = terminal({ replies: ["nope\r"], cwd: dir });
    await expect(openCaWithPassphrase(io, "ca")).rejects.toMatchObject({
      code: "ERR_CA_PASSPHRASE",
    });
  });

  it("ca init on a terminal asks twice, and refuses two different answers", async () => {
    const dir = await tempDir();
    const mismatch = terminal({ replies: ["one\r", "two\r"], cwd: dir });
    expect(await runCli(["ca", "init", "--dir", "ca"], mismatch.io)).toBe(4);
    expect(mismatch.err()).toContain("New CA passphrase: \nRepeat the passphrase: \n");
    expect(mismatch.err()).toContain("[ERR_CA_PASSPHRASE_MISMATCH]");

    const ok = terminal({ replies: ["same\r", "same\r"], cwd: dir });
    expect(await runCli(["ca", "init", "--dir", "ca"], ok.io)).toBe(0);
    expect(ok.out()).toMatch(/private key .*\(encrypted PKCS#8, mode 0600\)/);
    expect(ok.out() + ok.err()).not.toContain("same");
    const reopen = terminal({ replies: ["same\r"], cwd: dir });
    await (await openCaWithPassphrase(reopen.io, "ca")).close();
  });
});

describe("HiddenLineEditor: keys as sudo's prompt takes them", () => {
  const typed = (...chunks: string[]) => {
    const editor = new HiddenLineEditor();
    for (const chunk of chunks) {
      const ended = editor.feed(chunk);
      if (ended) return ended;
    }
    return null;
  };

  it.each([
    ["plain text", ["secret\r"], "secret"],
    ["backspace (DEL and ^H)", ["secrex\u007fT\bt\r"], "secret"],
    ["Ctrl-U clears the line", ["wrong\u0015right\r"], "right"],
    ["arrow keys (CSI) are ignored", ["se\u001b[Dcr\u001b[Aet\r"], "secret"],
    ["application-mode arrows (SS3) are ignored", ["se\u001bOCcret\r"], "secret"],
    ["Ctrl+arrow and function keys are ignored", ["a\u001b[1;5Cb\u001b[15~c\r"], "abc"],
    ["Alt+key is ignored", ["a\u001bxb\r"], "ab"],
    ["a sequence split across reads", ["ab\u001b", "[", "1;5", "D", "c\n"], "abc"],
    ["other control characters are ignored", ["a\tb\u0001c\u0004\r"], "abc"],
    ["non-ASCII characters are kept whole", ["pässwörd😀\u007f\r"], "pässwörd"],
  ])("%s", (_, chunks, line) => {
    expect(typed(...chunks)).toEqual({ kind: "enter", line });
  });

  it("Ctrl-C interrupts; Ctrl-D ends input only on an empty line", () => {
    expect(typed("abc\u0003def\r")).toEqual({ kind: "interrupt" });
    expect(typed("\u0004")).toEqual({ kind: "eof" });
    expect(typed("ab\u0015\u0004")).toEqual({ kind: "eof" });
    expect(typed("abc")).toBeNull();
  });
});
