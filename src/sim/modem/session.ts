import { setTimeout as delay } from "node:timers/promises";
import type { ByteTransport } from "../../serial/index.js";
import { type FramedCommand, SimCommandFramer } from "./framer.js";
import type { SimModemOptions } from "./options.js";
import { AT_SHELL_USAGE, atShellCommand, SHELL_PROMPT, splitShellArguments } from "./shell.js";
import { cme, error, type Reply } from "./state.js";

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
  /** `nrf_provisioning <args>` on the shell: lines to print, or null when the firmware has no such command. */
  provisioningShell?(args: string[]): string[] | null;
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
    const command = shell ? this.shellCommand(framed.text) : framed.text;
    if (command === null) return;
    this.options.onCommand?.(command);
    if (this.matchesStall(command)) {
      this.stalled = true; // Like a hung AT host: this and every later command stay unanswered.
      return;
    }
    const reply = await this.reply(command, framed.overflowed);
    if (this.options.latencyMs) await delay(this.options.latencyMs);
    const lines = this.modem.render(reply);
    // The shell prints the modem's response and then a line break of its own.
    const text = lines.map((line) => `${line}\r\n`).join("");
    this.write(shell ? `${text}\r\n${SHELL_PROMPT}` : text);
  }

  /**
   * Runs a shell line: the AT command `at` hands the modem (`argv[1]`), or null when the shell
   * answered by itself (empty line, unknown command, usage, unterminated quote).
   */
  private shellCommand(line: string): string | null {
    const { argv, openQuote } = splitShellArguments(line);
    const shellSays = (...lines: string[]) => {
      this.write(lines.map((text) => `${text}\r\n`).join("") + SHELL_PROMPT);
      return null;
    };
    if (argv.length === 0) return shellSays();
    if (openQuote !== null) return shellSays(`not terminated: ${openQuote}`);
    if (argv[0] === "nrf_provisioning") {
      const lines = this.modem.provisioningShell?.(argv.slice(1)) ?? null;
      if (lines !== null) return shellSays(...lines);
    }
    if (argv[0] !== "at") return shellSays(`${argv[0]}: command not found`);
    const argument = argv[1];
    if (argument === undefined) return shellSays(...AT_SHELL_USAGE);
    if (argument === "events_enable") return shellSays("AT command event handler enabled");
    if (argument === "events_disable") return shellSays("AT command event handler disabled");
    return atShellCommand(argument, this.options.shellLfUnescape ?? true);
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
