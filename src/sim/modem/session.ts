import { setTimeout as delay } from "node:timers/promises";
import type { ByteTransport } from "../../serial/index.js";
import { type FramedCommand, SimCommandFramer } from "./framer.js";
import type { SimModemOptions } from "./options.js";
import { cme, error, type Reply } from "./state.js";

export const SHELL_PROMPT = "uart:~$ ";

const defaultNoise = [
  "+CSCON: 1",
  "[00:00:28.460,540] <inf> asset_tracker: RRC mode: Connected",
  "+CEREG: 0",
  "+CSCON: 0",
];

interface ModemLink {
  execute(command: string): Promise<Reply>;
  render(reply: Reply): string[];
  onEnd(): void;
}

/** Undoes the shell escaping of `at <cmd>`: `\"` → `"`, `\n` → LF, `\\` → `\`; `'…'` unwrapped. */
export function unescapeShellArgument(text: string): string {
  const unquoted = /^'.*'$/s.test(text) ? text.slice(1, -1) : text;
  return unquoted.replace(/\\(.)/gs, (_, c: string) => (c === "n" ? "\n" : c === "r" ? "\r" : c));
}

/**
 * One link to the simulated modem: frames incoming commands, runs them one at a time (AT_HOST
 * stops reading while a command runs) and writes the response lines, applying the link-level
 * knobs (echo, shell mode, latency, faults).
 */
export class SimSession {
  private readonly framer: SimCommandFramer;
  private readonly queue: FramedCommand[] = [];
  private readonly unsubscribe: Array<() => void> = [];
  private busy = false;
  private stalled = false;
  private stopped = false;
  private received = 0;
  private noiseTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly transport: ByteTransport,
    private readonly options: SimModemOptions,
    private readonly modem: ModemLink,
  ) {
    this.framer = new SimCommandFramer(options.terminator ?? "\r\n", options.shellMode ?? false);
  }

  start(): void {
    this.unsubscribe.push(
      this.transport.onData((chunk) => this.receive(chunk)),
      this.transport.onClose(() => this.stop()),
    );
    if (this.options.shellMode) this.write(SHELL_PROMPT);
    const noise = this.options.noise;
    if (noise) {
      const lines = noise.lines ?? defaultNoise;
      let next = 0;
      this.noiseTimer = setInterval(() => {
        this.writeUnsolicited(lines[next % lines.length] ?? "");
        next++;
      }, noise.intervalMs);
      this.noiseTimer.unref();
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.noiseTimer);
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.modem.onEnd();
  }

  writeUnsolicited(line: string): void {
    this.write(`${line}\r\n`);
  }

  private write(text: string): void {
    if (this.stopped || !this.transport.isOpen) return;
    // A link that drops mid-write is what the fault knobs simulate; nothing to report here.
    this.transport.write(text).catch(() => {});
  }

  private receive(chunk: Uint8Array): void {
    if (this.stopped) return;
    const limit = this.options.faults?.dropAfterBytes;
    let bytes = chunk;
    if (limit !== undefined && this.received + chunk.length >= limit) {
      bytes = chunk.subarray(0, Math.max(0, limit - this.received));
    }
    this.received += bytes.length;
    this.queue.push(...this.framer.push(bytes));
    if (limit !== undefined && this.received >= limit) {
      this.dropLink(limit);
      return;
    }
    void this.drain();
  }

  private dropLink(limit: number): void {
    this.stop();
    const transport = this.transport as ByteTransport & { disconnect?: (reason: string) => void };
    if (typeof transport.disconnect === "function") {
      transport.disconnect(`simulated fault: link dropped after ${limit} bytes`);
    } else {
      void transport.close();
    }
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (
        let next = this.queue.shift();
        next && !this.stalled && !this.stopped;
        next = this.queue.shift()
      ) {
        await this.run(next);
      }
    } finally {
      this.busy = false;
    }
  }

  private async run(framed: FramedCommand): Promise<void> {
    const shell = this.options.shellMode ?? false;
    if (shell || this.options.echo) this.write(`${framed.text}\r\n`);
    let command = framed.text;
    if (shell) {
      const match = /^at\s+(.*)$/s.exec(command.trim());
      if (!match) {
        const word = command.trim().split(/\s+/)[0] ?? "";
        this.write(word === "" ? SHELL_PROMPT : `${word}: command not found\r\n${SHELL_PROMPT}`);
        return;
      }
      command = unescapeShellArgument(match[1] ?? "");
    }
    if (this.matchesStall(command)) {
      this.stalled = true; // Like a hung AT host: this and every later command stay unanswered.
      return;
    }
    const reply = await this.reply(command, framed.overflowed);
    if (this.options.latencyMs) await delay(this.options.latencyMs);
    const lines = this.modem.render(reply);
    this.write(lines.map((line) => `${line}\r\n`).join("") + (shell ? SHELL_PROMPT : ""));
  }

  private async reply(command: string, overflowed: boolean): Promise<Reply> {
    // AT_HOST drops bytes beyond its buffer, so an overlong command arrives corrupted.
    if (overflowed) return error();
    const forced = Object.entries(this.options.faults?.cmeOn ?? {}).find(([prefix]) =>
      command.toUpperCase().startsWith(prefix.toUpperCase()),
    );
    if (forced) return cme(forced[1]);
    return this.modem.execute(command);
  }

  private matchesStall(command: string): boolean {
    const stall = this.options.faults?.stallCommand;
    if (stall === undefined) return false;
    return typeof stall === "string"
      ? command.toUpperCase().startsWith(stall.toUpperCase())
      : stall.test(command);
  }
}
