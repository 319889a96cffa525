import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AtClient,
  type AtClientOptions,
  cmeMeaning,
  defaultTimeoutFor,
  openAtClient,
} from "../../src/at/index.js";
import { createMemoryTransportPair } from "../../src/serial/index.js";
import { splitShellArguments } from "../../src/sim/modem/shell.js";
import { readVector } from "../vectors.js";
import { basicModem, type Reply, serveScript } from "./scripted-modem.js";
import { readTranscript, serialReplies, transcriptNames } from "./transcripts.js";

const IMEI = "352656100367872";

async function connect(
  answer: (command: string) => Reply,
  options: AtClientOptions = {},
  chunk?: (reply: string) => string[],
) {
  const [host, device] = createMemoryTransportPair(["memory:host", "memory:modem"]);
  const modem = serveScript(device, answer, { chunk });
  const at = await openAtClient(host, { mode: "at", flushMs: 0, ...options });
  const urcs: string[] = [];
  at.onUrc((line) => urcs.push(line));
  return { at, host, device, modem, urcs };
}

/** Splits a string into pieces of the given sizes (cycled), for chunking properties. */
function pieces(sizes: number[]): (text: string) => string[] {
  return (text) => {
    const out: string[] = [];
    for (let at = 0, i = 0; at < text.length; i++) {
      const size = Math.max(1, sizes[i % Math.max(1, sizes.length)] ?? text.length);
      out.push(text.slice(at, at + size));
      at += size;
    }
    return out;
  };
}

describe("AT client: responses", () => {
  it("enables CMEE on connect and returns the IMEI of AT+CGSN", async () => {
    const { at, modem } = await connect(basicModem());
    const response = await at.send("AT+CGSN");
    expect(response).toMatchObject({ command: "AT+CGSN", lines: [IMEI], final: "OK" });
    expect(modem.received).toEqual(["AT+CMEE=1", "AT+CGSN"]);
    expect(at.mode).toBe("at");
    expect(at.portName).toBe("memory:host");
  });

  it("keeps URCs, log lines and banners out of results, even right before OK of AT+CGSN", async () => {
    const noise = [
      '+CEREG: 2,"76C1","0102DA04",7',
      "[00:00:28.460,540] <inf> asset_tracker: RRC mode: Connected",
      "Ready",
      "%CESQ: 54,2,17,2",
      "+CGEV: ME PDN ACT 0",
    ];
    const { at, urcs } = await connect(
      basicModem((command) =>
        command === "AT+CGSN" ? [noise[0]!, IMEI, ...noise.slice(1), "OK"] : undefined,
      ),
    );
    expect((await at.send("AT+CGSN")).lines).toEqual([IMEI]);
    expect(urcs).toEqual(noise);
  });

  it("keeps the result exact with unsolicited lines inserted anywhere (property)", async () => {
    const unsolicited = fc.oneof(
      fc.constantFrom("+CSCON: 1", "Ready", "+CGEV: ME PDN ACT 0", "%CESQ: 54,2,17,2"),
      fc.integer({ min: 0, max: 5 }).map((n) => `+CEREG: ${n}`),
      fc
        .stringMatching(/^[a-z]([a-z ]{0,28}[a-z])?$/)
        .map((text) => `[00:00:28.460,540] <inf> asset_tracker: ${text}`),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(unsolicited, { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (noise, positions) => {
          const reply = [IMEI, "OK"];
          noise.forEach((line, i) => {
            reply.splice((positions[i] ?? 0) % reply.length, 0, line);
          });
          const { at, urcs } = await connect(
            basicModem((c) => (c === "AT+CGSN" ? reply : undefined)),
          );
          expect((await at.send("AT+CGSN")).lines).toEqual([IMEI]);
          expect(urcs).toEqual(reply.filter((line) => line !== IMEI && line !== "OK"));
          await at.close();
        },
      ),
      { numRuns: 100 },
    );
  });

  it("attributes prefixed lines to their command only", async () => {
    const { at, urcs } = await connect(
      basicModem((command) =>
        command === "AT+CFUN?"
          ? ["+CSCON: 1", "+CFUN: 4", "%XMODEMUUID: not mine", "OK"]
          : command === "AT%XMODEMUUID"
            ? ["%XMODEMUUID: 25c95751-efa4-40d4-8b4a-1dcaab81fac9", "+CFUN: 1", "OK"]
            : undefined,
      ),
    );
    expect((await at.send("AT+CFUN?")).lines).toEqual(["+CFUN: 4"]);
    expect((await at.send("AT%XMODEMUUID")).lines).toEqual([
      "%XMODEMUUID: 25c95751-efa4-40d4-8b4a-1dcaab81fac9",
    ]);
    expect(urcs).toEqual(["+CSCON: 1", "%XMODEMUUID: not mine", "+CFUN: 1"]);
  });

  it("honours responsePrefix and responseLine overrides", async () => {
    const { at, urcs } = await connect(
      basicModem((command) => (command === "AT+CGSN=1" ? ['+CGSN: "1"', "abc", "OK"] : undefined)),
    );
    expect((await at.send("AT+CGSN=1", { responseLine: /^abc$/ })).lines).toEqual([
      '+CGSN: "1"',
      "abc",
    ]);
    expect((await at.send("AT+CGSN=1", { responsePrefix: "abc" })).lines).toEqual(["abc"]);
    expect(urcs).toEqual(['+CGSN: "1"']);
  });

  it("tolerates an echo of the command and garbage lines", async () => {
    const { at, urcs } = await connect(
      basicModem((command) =>
        command === "AT+CGMR"
          ? [command, "\u0000\u0001garbage OKERROR", "mfw_nrf9160_1.3.5", "OK"]
          : undefined,
      ),
    );
    expect((await at.send("AT+CGMR")).lines).toEqual(["mfw_nrf9160_1.3.5"]);
    expect(urcs).toEqual(["\u0000\u0001garbage OKERROR"]);
  });

  it("returns a %CMNG read response whose quoted PEM spans lines as one line", async () => {
    const pem = "-----BEGIN CERTIFICATE-----\r\nMIIB\r\n-----END CERTIFICATE-----\r\n";
    const line = `%CMNG: 42,0,"2C43952EE9E000FF2ACC4E2ED0897C0A72AD5FA72C3D934E81741CBD54F05BD1","${pem}"`;
    const { at } = await connect(
      basicModem((command) => (command === "AT%CMNG=2,42,0" ? [line, "OK"] : undefined)),
    );
    expect((await at.send("AT%CMNG=2,42,0")).lines).toEqual([line]);
  });

  it("sends a multi-line PEM inside quotes as one command", async () => {
    const command =
      'AT%CMNG=0,42,0,"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"';
    const { at, modem } = await connect(basicModem((c) => (c === command ? ["OK"] : undefined)));
    await at.send(command);
    expect(modem.received.at(-1)).toBe(command);
  });

  it("uses the configured terminator", async () => {
    const [host, device] = createMemoryTransportPair();
    const raw: string[] = [];
    device.onData((chunk) => {
      raw.push(Buffer.from(chunk).toString());
      if (raw.join("").endsWith("AT+CMEE=1\r")) void device.write("OK\r\n");
    });
    await openAtClient(host, { mode: "at", flushMs: 0, terminator: "\r" });
    expect(raw.join("")).toBe("\rAT+CMEE=1\r");
  });

  it("flushes with a bare terminator on open and discards stale input", async () => {
    const [host, device] = createMemoryTransportPair();
    const modem = serveScript(device, basicModem());
    device.onData(() => void device.write("stale partial answer\r\n"));
    const opening = openAtClient(host, { mode: "at", flushMs: 20, enableCmee: false });
    const at = await opening;
    const urcs: string[] = [];
    at.onUrc((line) => urcs.push(line));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(modem.received).toEqual([]);
    expect(urcs).toEqual([]);
  });

  it("keeps discarding while stale output keeps arriving, then answers the first command", async () => {
    const [host, device] = createMemoryTransportPair();
    const modem = serveScript(device, basicModem());
    // An earlier session's output still draining for longer than the quiet gap (50 × 15 ms >
    // 400 ms), but never silent that long: all of it is discarded.
    let flushed = false;
    device.onData(() => {
      if (flushed) return;
      flushed = true;
      void (async () => {
        for (let i = 0; i < 50; i++) {
          await device.write(`+CEREG: ${i}\r\nOK\r\n`);
          await new Promise((resolve) => setTimeout(resolve, 15));
        }
        await device.write("ERR");
      })();
    });
    const at = await openAtClient(host, {
      mode: "at",
      flushMs: 60_000,
      flushQuietMs: 400,
      enableCmee: false,
    });
    const urcs: string[] = [];
    at.onUrc((line) => urcs.push(line));
    expect((await at.send("AT+CGSN")).lines).toEqual([IMEI]);
    expect(modem.received).toEqual(["AT+CGSN"]);
    expect(urcs).toEqual([]);
  });

  it("ends the flush once the line is quiet rather than waiting out flushMs", async () => {
    const [host, device] = createMemoryTransportPair();
    serveScript(device, basicModem());
    // The test's own timeout (30 s) is far below flushMs: only the quiet rule can end it.
    const at = await openAtClient(host, { mode: "at", flushMs: 600_000 });
    expect((await at.send("AT+CGSN")).lines).toEqual([IMEI]);
  });

  it.each(serialReplies)("returns the $file reply", async ({ file, command }) => {
    const wire = readVector(file);
    const { at } = await connect(basicModem((c) => (c === command ? wire : undefined)));
    expect((await at.send(command)).lines).toEqual([wire.split("\r\n")[0]]);
  });

  it.each(transcriptNames)("replays %s with the same results under any chunking", async (name) => {
    const exchanges = readTranscript(name);
    const replies = new Map(exchanges.map((e) => [e.command, e.received]));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 8 }),
        async (sizes) => {
          const { at, urcs } = await connect(
            basicModem((c) => replies.get(c)),
            {},
            pieces(sizes),
          );
          for (const { command, received } of exchanges) {
            const prefix = /^AT([+%][A-Z]+)/.exec(command)?.[1];
            const response = await at.send(command);
            expect(response.lines).toEqual(received.filter((l) => l.startsWith(`${prefix}:`)));
          }
          const unsolicited = exchanges.flatMap((e) =>
            e.received.filter((l) => l !== "OK" && !l.startsWith("%KEYGEN:")),
          );
          expect(urcs).toEqual(unsolicited);
          await at.close();
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe("AT client: failures", () => {
  it("maps +CME ERROR codes to meanings per command family", async () => {
    const codes: Record<string, string> = {
      "AT%CMNG=3,42,0": "+CME ERROR: 513",
      "AT%KEYGEN=42,2,0": "+CME ERROR: 518",
      "AT%FOO": "+CME ERROR: 999",
      "AT+CFUN=9": "ERROR",
      "AT+CMGS=1": "+CMS ERROR: 500",
    };
    const { at } = await connect(basicModem((c) => (codes[c] ? [codes[c]] : undefined)));
    await expect(at.send("AT%CMNG=3,42,0")).rejects.toMatchObject({
      code: "ERR_AT_CME",
      details: {
        cme: 513,
        meaning: "credential not found",
        port: "memory:host",
        command: "AT%CMNG=3,42,0",
      },
    });
    await expect(at.send("AT%KEYGEN=42,2,0")).rejects.toMatchObject({
      code: "ERR_AT_CME",
      message: expect.stringMatching(/518.*AT\+CFUN=4/),
      details: { cme: 518 },
    });
    await expect(at.send("AT%FOO")).rejects.toMatchObject({
      details: { cme: 999, meaning: "unknown CME error 999" },
    });
    await expect(at.send("AT+CFUN=9")).rejects.toMatchObject({ code: "ERR_AT_ERROR" });
    await expect(at.send("AT+CMGS=1")).rejects.toMatchObject({
      code: "ERR_AT_CMS",
      details: { cms: 500 },
    });
    expect((await at.send("AT+CGSN")).lines).toEqual([IMEI]);
  });

  it("names CME codes per family and keeps unknown numbers", () => {
    expect(cmeMeaning(513, "AT%JWT=0")).toBe("key not found in the sec tag");
    expect(cmeMeaning(513, "AT+CFUN=4")).toBe("not found");
    expect(cmeMeaning(519, "at%keygen=1,2,0")).toMatch(/already exists/);
    expect(cmeMeaning(527, 'AT%CMNG=0,1,0,"x"')).toMatch(/unconfirmed.*LF/);
    expect(cmeMeaning(0, "AT%ATTESTTOKEN")).toMatch(/not supported/);
    expect(cmeMeaning(4711, "AT%KEYGEN=1,2,0")).toBe("unknown CME error 4711");
  });

  it("picks longer default timeouts for key generation and credential writes", () => {
    expect(defaultTimeoutFor("AT%KEYGEN=16842753,2,0")).toBe(60_000);
    expect(defaultTimeoutFor('AT%CMNG=0,42,1,"x"')).toBe(20_000);
    expect(defaultTimeoutFor("AT%CMNG=1,42")).toBe(10_000);
    expect(defaultTimeoutFor("AT+CGSN", 2500)).toBe(2500);
  });

  it("times out a command the modem never answers and carries on with the queue", async () => {
    const { at } = await connect(
      basicModem((c) => (c === "AT+CFUN?" ? [] : undefined)),
      {
        defaultTimeoutMs: 30,
      },
    );
    const stalled = at.send("AT+CFUN?");
    const next = at.send("AT+CGSN", { timeoutMs: 1000 });
    await expect(stalled).rejects.toMatchObject({
      code: "ERR_AT_TIMEOUT",
      details: { port: "memory:host", command: "AT+CFUN?", timeoutMs: 30 },
    });
    expect((await next).lines).toEqual([IMEI]);
  });

  it("swallows the late answer of a timed-out command instead of giving it to the next one", async () => {
    const [host, device] = createMemoryTransportPair();
    // Like the AT host: one command at a time, the next read only after the previous answer.
    let busy = Promise.resolve();
    serveScript(device, (command) => {
      const delayMs = command === "AT+CFUN?" ? 60 : 0;
      const reply = command === "AT+CFUN?" ? "+CFUN: 1\r\nOK\r\n" : `${IMEI}\r\nOK\r\n`;
      busy = busy
        .then(() => new Promise((resolve) => setTimeout(resolve, delayMs)))
        .then(() => device.write(reply));
      return undefined;
    });
    const at = await openAtClient(host, {
      mode: "at",
      flushMs: 0,
      enableCmee: false,
      resyncMs: 2000,
    });
    const urcs: string[] = [];
    at.onUrc((line) => urcs.push(line));
    const slow = at.send("AT+CFUN?", { timeoutMs: 20 }).catch((error: unknown) => error);
    expect((await at.send("AT+CGSN")).lines).toEqual([IMEI]);
    expect(await slow).toMatchObject({ code: "ERR_AT_TIMEOUT" });
    expect(urcs).toEqual(["+CFUN: 1"]);
  });

  it("keeps exactly one command in flight, in FIFO order", async () => {
    const [host, device] = createMemoryTransportPair();
    let inFlight = 0;
    let maxInFlight = 0;
    serveScript(device, (command) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        void device.write(`+X: ${command}\r\nOK\r\n`);
      }, 2);
      return undefined;
    });
    const at = await openAtClient(host, { mode: "at", flushMs: 0 });
    const commands = ["AT+X=1", "AT+X=2", "AT+X=3", "AT+X=4"];
    const results = await Promise.all(commands.map((c) => at.send(c)));
    expect(results.map((r) => r.lines[0])).toEqual(commands.map((c) => `+X: ${c}`));
    expect(maxInFlight).toBe(1);
  });

  it("refuses a command over 4095 bytes before sending it", async () => {
    const { at, modem } = await connect(
      basicModem((c) => (c.startsWith("AT%CMNG") ? ["OK"] : undefined)),
    );
    const fits = `AT%CMNG=0,42,0,"${"A".repeat(4095 - 17)}"`;
    const tooLong = `AT%CMNG=0,42,0,"${"A".repeat(4096 - 17)}"`;
    expect(Buffer.byteLength(fits)).toBe(4095);
    await expect(at.send(tooLong)).rejects.toMatchObject({
      code: "ERR_AT_COMMAND_TOO_LONG",
      message: expect.stringMatching(/4096 bytes.*at most 4095/),
      details: { length: 4096, limit: 4095 },
    });
    await at.send(fits);
    expect(modem.received.filter((c) => c.startsWith("AT%CMNG"))).toEqual([fits]);
  });

  it("refuses commands the modem would split, hang on or edit, before sending them", async () => {
    const { at, modem } = await connect(basicModem());
    const invalid = {
      'AT%CMNG=0,42,0,"-----BEGIN': /unbalanced/,
      "AT+CFUN=4\r\nAT+CFUN=1": /line break outside quotes/,
      "AT+CGSN\x08": /backspace/,
    };
    for (const [command, reason] of Object.entries(invalid)) {
      await expect(at.send(command)).rejects.toMatchObject({
        code: "ERR_AT_COMMAND_INVALID",
        message: expect.stringMatching(reason),
      });
    }
    expect(modem.received).toEqual(["AT+CMEE=1"]);
  });

  it("fails the in-flight and all queued commands at once when the link drops", async () => {
    const { at, device } = await connect(
      basicModem((c) => (c.startsWith("AT+CFUN") ? [] : undefined)),
    );
    const pending = [
      "AT+CFUN=4",
      "AT+CFUN?",
      'AT%CMNG=0,42,1,"-----BEGIN CERTIFICATE-----\nsecret"',
    ].map((c) =>
      at.send(c).then(
        () => "resolved",
        (error: unknown) => error,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    device.disconnect("cable pulled");
    const errors = await Promise.all(pending);
    expect(errors).toMatchObject([
      {
        code: "ERR_AT_DISCONNECTED",
        message: expect.stringMatching(/memory:host.*AT\+CFUN=4.*in flight/),
      },
      { code: "ERR_AT_DISCONNECTED", details: { command: "AT+CFUN?" } },
      {
        code: "ERR_AT_DISCONNECTED",
        details: { command: 'AT%CMNG=0,42,1,"-----BEGIN CERTIFICATE-----…' },
      },
    ]);
    expect(String((errors[2] as Error).message)).not.toContain("secret");
    await expect(at.send("AT")).rejects.toMatchObject({ code: "ERR_AT_DISCONNECTED" });
  });

  it("fails a command whose response was garbled by a stray quote", async () => {
    const { at } = await connect(
      basicModem((c) => (c === "AT%CMNG=1" ? ['%CMNG: 1,0,"ABC', "%CMNG: 2,0", "OK"] : undefined)),
    );
    await expect(at.send("AT%CMNG=1")).rejects.toMatchObject({
      code: "ERR_AT_FRAMING",
      details: { reason: "unbalanced-quote" },
    });
    expect((await at.send("AT+CGSN")).lines).toEqual([IMEI]);
  });

  it("rejects a response line over the cap as garbled, and accepts it with a larger cap", async () => {
    const long = `%CMNG: 42,0,"${"A".repeat(64)}","${"B".repeat(4100)}"`;
    const modem = basicModem((c) => (c === "AT%CMNG=2,42,0" ? [long, "OK"] : undefined));
    const capped = await connect(modem);
    await expect(capped.at.send("AT%CMNG=2,42,0")).rejects.toMatchObject({
      code: "ERR_AT_FRAMING",
      details: { reason: "line-too-long" },
    });
    const roomy = await connect(modem, { maxLineBytes: 8192 });
    expect((await roomy.at.send("AT%CMNG=2,42,0")).lines).toEqual([long]);
  });

  it("closes the transport and fails pending work on close()", async () => {
    const { at, host } = await connect(basicModem((c) => (c === "AT+CFUN?" ? [] : undefined)));
    const pending = at.send("AT+CFUN?");
    await at.close();
    await expect(pending).rejects.toMatchObject({ code: "ERR_AT_DISCONNECTED" });
    expect(host.isOpen).toBe(false);
  });
});

/** A Zephyr shell with colours, echo and prompt, that runs `at <cmd>` and rejects raw AT. */
function shellModem(log: string[]) {
  const prompt = "\x1b[1;32muart:~$ \x1b[m";
  return (line: string): Reply => {
    log.push(line);
    if (line === "") return prompt;
    const echo = `${line}\r\n`;
    const [name, command = ""] = splitShellArguments(line).argv;
    if (name !== "at") return `${echo}${name}: command not found\r\n${prompt}`;
    const body =
      command === "AT+CGSN"
        ? `${IMEI}\r\nOK\r\n`
        : command.startsWith("AT%CMNG=0")
          ? "OK\r\n"
          : command === "AT+CMEE=1"
            ? "OK\r\n"
            : "ERROR\r\n";
    return `${echo}${body}${prompt}`;
  };
}

describe("AT client: shell mode", () => {
  it("detects shell firmware, escapes commands and strips prompts, colours and echo", async () => {
    const log: string[] = [];
    const [host, device] = createMemoryTransportPair();
    serveScript(device, shellModem(log));
    const at: AtClient = await openAtClient(host, { flushMs: 0, probeTimeoutMs: 200 });
    const urcs: string[] = [];
    at.onUrc((line) => urcs.push(line));
    expect(at.mode).toBe("shell");
    expect((await at.send("AT+CGSN")).lines).toEqual([IMEI]);
    await at.send(
      'AT%CMNG=0,42,0,"-----BEGIN CERTIFICATE-----\r\nMIIB\r\n-----END CERTIFICATE-----\r\n"',
    );
    expect(log.at(-1)).toBe(
      `at 'AT%CMNG=0,42,0,"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n"'`,
    );
    expect(log.slice(0, 2)).toEqual(["at 'AT+CGSN'", "at 'AT+CMEE=1'"]);
    expect(urcs).toEqual([]);
  });

  it("detects AT firmware after the shell probe fails twice", async () => {
    const { at, modem } = await connect(basicModem(), { mode: "auto", probeTimeoutMs: 200 });
    expect(at.mode).toBe("at");
    expect(modem.received).toEqual(["at 'AT+CGSN'", "at 'AT+CGSN'", "AT+CGSN", "AT+CMEE=1"]);
  });

  it("reports no AT responder on a silent port and closes it", async () => {
    const [host] = createMemoryTransportPair();
    await expect(openAtClient(host, { flushMs: 0, probeTimeoutMs: 10 })).rejects.toMatchObject({
      code: "ERR_AT_NO_RESPONDER",
      message: expect.stringMatching(/no AT responder on memory:host/),
    });
    expect(host.isOpen).toBe(false);
  });
});
