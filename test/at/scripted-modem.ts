import { AtLineFramer } from "../../src/at/index.js";
import type { ByteTransport } from "../../src/serial/index.js";

/** What the scripted modem answers: whole reply text, or lines (CRLF added), or nothing. */
export type Reply = string | string[] | undefined;

/**
 * A small scripted modem for client tests: frames commands the way the AT host does
 * (quote-aware) and writes whatever `answer` returns. `chunk` splits each reply into writes.
 */
export function serveScript(
  device: ByteTransport,
  answer: (command: string) => Reply,
  options: { chunk?: ((reply: string) => string[]) | undefined } = {},
): { received: string[] } {
  const framer = new AtLineFramer();
  const received: string[] = [];
  device.onData(async (bytes) => {
    for (const frame of framer.push(bytes)) {
      if (frame.kind !== "line") continue;
      received.push(frame.text);
      const reply = answer(frame.text);
      if (reply === undefined) continue;
      const text = typeof reply === "string" ? reply : reply.map((l) => `${l}\r\n`).join("");
      for (const piece of options.chunk?.(text) ?? [text]) {
        if (device.isOpen) await device.write(piece);
      }
    }
  });
  return { received };
}

/** Default answers: the session set-up commands say OK, AT-mode probe gets an IMEI. */
export function basicModem(extra: (command: string) => Reply = () => undefined) {
  return (command: string): Reply => {
    const scripted = extra(command);
    if (scripted !== undefined) return scripted;
    if (command === "AT+CMEE=1") return ["OK"];
    if (command === "AT+CGSN") return ["352656100367872", "OK"];
    if (command.startsWith("at ")) return ["ERROR"];
    return ["ERROR"];
  };
}
