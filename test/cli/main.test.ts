import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { interruptSignal } from "../../src/cli/io.js";
import { runCli } from "../../src/cli/main.js";
import { runChild } from "./child.js";
import { captureIo, runCliCaptured } from "./harness.js";

const signalListeners = () => process.listenerCount("SIGINT") + process.listenerCount("SIGTERM");

describe("cli", () => {
  it("prints the version and exits 0", async () => {
    const { code, out } = await runCliCaptured(["--version"]);
    expect(code).toBe(0);
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("the binary's --version and -V (answered without commander) print what runCli prints", async () => {
    for (const argv of [["--version"], ["-V"], ["--version", "--json"]]) {
      const inProcess = await runCliCaptured(argv);
      const child = await runChild(argv);
      expect(inProcess.out).toMatch(/^\d+\.\d+\.\d+\n$/);
      expect(child).toMatchObject({ code: inProcess.code, out: inProcess.out, err: inProcess.err });
    }
  });

  it("exits 2 on an unknown command", async () => {
    const { code, err } = await runCliCaptured(["no-such-command"]);
    expect(code).toBe(2);
    expect(err).toMatch(/unknown command|too many arguments/);
  });
});

describe("runCli and process signals", () => {
  it("leaves no SIGINT/SIGTERM listeners behind when `interrupted` is not injected", async () => {
    const before = signalListeners();
    for (let run = 0; run < 15; run++) {
      // `interrupted: undefined`: runCli uses the process's signals, as the binary does.
      const result = await runCliCaptured(["--version"], { env: {}, interrupted: undefined });
      expect(result.code).toBe(0);
      expect(signalListeners()).toBe(before);
    }
  });

  it("without an injected `interrupted`, a SIGINT stops a command that waits for it", async () => {
    const before = signalListeners();
    const capture = captureIo({ env: {}, interrupted: undefined });
    const running = runCli(
      ["sim", "cloud", "--port", "0", "--api-key", "k1", "--json"],
      capture.io,
    );
    const started = new Promise<void>((resolve) => capture.io.stdout.once("data", () => resolve()));
    await started;
    // The command is waiting for the interruption: the listeners are installed now.
    expect(signalListeners()).toBe(before + 2);
    process.emit("SIGINT");
    expect(await running).toBe(0);
    expect(JSON.parse(capture.out())).toMatchObject({ apiKey: "k1" });
    expect(signalListeners()).toBe(before);
  });
});

describe("interruptSignal", () => {
  it("listens only once read, resolves on SIGTERM, and removes its listeners", async () => {
    const target = new EventEmitter();
    const signal = interruptSignal(target);
    expect(target.listenerCount("SIGINT")).toBe(0);
    const interrupted = signal.promise;
    expect(signal.promise).toBe(interrupted);
    expect([target.listenerCount("SIGINT"), target.listenerCount("SIGTERM")]).toEqual([1, 1]);
    target.emit("SIGTERM");
    await interrupted;
    expect([target.listenerCount("SIGINT"), target.listenerCount("SIGTERM")]).toEqual([0, 0]);
  });

  it("dispose removes listeners that never fired", () => {
    const target = new EventEmitter();
    const signal = interruptSignal(target);
    void signal.promise;
    signal.dispose();
    signal.dispose();
    expect([target.listenerCount("SIGINT"), target.listenerCount("SIGTERM")]).toEqual([0, 0]);
  });
});
