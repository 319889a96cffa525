import type { ByteTransport } from "../serial/index.js";
import {
  belongsTo,
  commandProblem,
  defaultTimeoutFor,
  MAX_COMMAND_BYTES,
  type ResponseMatcher,
  responseMatcher,
} from "./commands.js";
import { AtError, cmeMeaning } from "./errors.js";
import { type AtFrame, AtLineFramer } from "./framer.js";
import { type FinalResult, parseFinalResult } from "./result-codes.js";
import { encodeShellCommand, shellCommandProblem, stripShellPrompt } from "./shell.js";

export interface AtResponse {
  command: string;
  /** The information lines that belong to the command (URCs and echoes removed). */
  lines: string[];
  final: "OK";
  durationMs: number;
}

export interface AtSendOptions {
  /** Default 10 s (or `defaultTimeoutMs`); `AT%KEYGEN` 60 s and `AT%CMNG=0` 20 s. */
  timeoutMs?: number;
  /** Lines starting with this belong to the response (default derived: `AT%KEYGEN=…` → `%KEYGEN:`). */
  responsePrefix?: string;
  /** For prefix-less answers (defaults exist for AT+CGSN, AT+CGMR, AT+CGMM, AT+CGMI). */
  responseLine?: RegExp;
}

export type AtMode = "at" | "shell";
export type AtTerminator = "\r" | "\n" | "\r\n";

export interface AtClient {
  readonly portName: string;
  readonly mode: AtMode;
  /**
   * Shell mode only: the firmware turns `\n` into CR LF in `AT%CMNG=0` commands
   * (`CONFIG_AT_SHELL_UNESCAPE_LF`, nrf91-at.md §9). Absent means yes.
   */
  readonly shellLfUnescape?: boolean;
  /** Sends one command (queued behind earlier ones); resolves only on `OK`. */
  send(command: string, options?: AtSendOptions): Promise<AtResponse>;
  /** Unsolicited lines: URCs, log lines, banners. Returns an unsubscribe function. */
  onUrc(listener: (line: string) => void): () => void;
  /** Fails whatever is pending and closes the transport too. */
  close(): Promise<void>;
}

export interface AtClientOptions {
  /** `auto` probes for shell firmware first (nrf91-at.md §9). Default `auto`. */
  mode?: "auto" | AtMode;
  /** Default CRLF: it works with both CR and CRLF firmware (nrf91-at.md §2.1). */
  terminator?: AtTerminator;
  /** Send `AT+CMEE=1` so failures carry a numeric code. Default true. */
  enableCmee?: boolean;
  /** Timeout of ordinary commands (KEYGEN and CMNG writes keep their longer defaults). */
  defaultTimeoutMs?: number | undefined;
  /**
   * The flush on open: input is discarded after the bare terminator until the line has been
   * quiet for `flushQuietMs` (default 30 ms), and for `flushMs` (default 100 ms) at most.
   */
  flushMs?: number;
  flushQuietMs?: number;
  /** Timeout of each mode probe in `auto` mode. Default 500 ms. */
  probeTimeoutMs?: number;
  /**
   * Longest logical line accepted (default 4096, nrf91-at.md §2.3). A `%CMNG` read of a
   * credential near the 4095-byte write limit can exceed it; raise it for such reads.
   */
  maxLineBytes?: number;
  /** After a timeout, how long to wait for the late answer before sending more. Default 250 ms. */
  resyncMs?: number;
  /**
   * Shell firmware turns `\n` into CR LF in `AT%CMNG=0` commands. Default true (Modem Shell,
   * lib/at_shell with `CONFIG_AT_SHELL_UNESCAPE_LF=y`); false refuses multi-line commands in
   * shell mode before they are sent.
   */
  shellLfUnescape?: boolean;
  log?: (direction: "tx" | "rx", text: string) => void;
}

interface PendingCommand {
  readonly command: string;
  readonly timeoutMs: number;
  readonly matcher: ResponseMatcher;
  readonly lines: string[];
  wire: string;
  framingError?: AtFrame & { kind: "framing-error" };
  startedAt: number;
  timer?: NodeJS.Timeout;
  resolve(response: AtResponse): void;
  reject(error: Error): void;
}

/** Short form of a command for messages and details: a PEM or key never lands in a log. */
function describeCommand(command: string): string {
  const firstLine = command.split(/\r?\n/, 1)[0] ?? "";
  return firstLine.length > 60 || firstLine.length < command.length
    ? `${firstLine.slice(0, 60)}…`
    : firstLine;
}

/** One command in flight, FIFO queue, lines attributed to the pending command or to URCs. */
class AtSession implements AtClient {
  private readonly framer: AtLineFramer;
  private readonly urcListeners = new Set<(line: string) => void>();
  private readonly queue: PendingCommand[] = [];
  private active: PendingCommand | undefined;
  private closed = false;
  private discarding = false;
  /** Set after a timeout until the late final result arrives or `resyncMs` pass. */
  private resyncTimer: NodeJS.Timeout | undefined;
  private currentMode: AtMode = "at";
  private readonly unsubscribe: Array<() => void>;

  constructor(
    private readonly transport: ByteTransport,
    private readonly options: AtClientOptions,
    private readonly terminator: AtTerminator,
  ) {
    this.framer = new AtLineFramer({ maxLineBytes: options.maxLineBytes });
    this.unsubscribe = [
      transport.onData((chunk) => {
        for (const frame of this.framer.push(chunk)) this.handleFrame(frame);
      }),
      transport.onClose((error) => this.shutDown(error)),
    ];
  }

  get portName(): string {
    return this.transport.name;
  }

  get mode(): AtMode {
    return this.currentMode;
  }

  get shellLfUnescape(): boolean {
    return this.options.shellLfUnescape ?? true;
  }

  useMode(mode: AtMode): void {
    this.currentMode = mode;
  }

  send(command: string, options: AtSendOptions = {}): Promise<AtResponse> {
    const described = describeCommand(command);
    const details = { port: this.portName, command: described };
    if (this.closed) {
      return Promise.reject(
        new AtError(
          "ERR_AT_DISCONNECTED",
          `cannot send ${described}: ${this.portName} is closed; reconnect the board and retry`,
          { details },
        ),
      );
    }
    const length = Buffer.byteLength(command, "utf8");
    if (length > MAX_COMMAND_BYTES) {
      return Promise.reject(
        new AtError(
          "ERR_AT_COMMAND_TOO_LONG",
          `${described} is ${length} bytes; the modem accepts at most ${MAX_COMMAND_BYTES} bytes ` +
            "per command and silently drops the rest, so it was not sent",
          { details: { ...details, length, limit: MAX_COMMAND_BYTES } },
        ),
      );
    }
    const problem =
      commandProblem(command) ??
      (this.currentMode === "shell"
        ? shellCommandProblem(command, { lfUnescape: this.shellLfUnescape })
        : undefined);
    if (problem) {
      return Promise.reject(
        new AtError("ERR_AT_COMMAND_INVALID", `${described} was not sent: ${problem}`, { details }),
      );
    }
    return new Promise<AtResponse>((resolve, reject) => {
      this.queue.push({
        command,
        timeoutMs: options.timeoutMs ?? defaultTimeoutFor(command, this.options.defaultTimeoutMs),
        matcher: responseMatcher(command, options),
        lines: [],
        wire: "",
        startedAt: 0,
        resolve,
        reject,
      });
      this.pump();
    });
  }

  onUrc(listener: (line: string) => void): () => void {
    this.urcListeners.add(listener);
    return () => this.urcListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.shutDown(undefined, "the AT client was closed");
    await this.transport.close();
  }

  /**
   * Sends a bare terminator and drops what comes back (nrf91-at.md §1): stale output of an
   * earlier session and the answer to a partial command the terminator completed. Ends once
   * nothing arrived for `quietMs` (the modem answers such a command within milliseconds), or
   * after `flushMs` on a line that keeps talking.
   */
  async flush(flushMs: number, quietMs: number): Promise<void> {
    this.discarding = true;
    let stopWatching = () => {};
    try {
      await this.transport.write(this.terminator);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(deadline);
          clearTimeout(quiet);
          resolve();
        };
        const deadline = setTimeout(done, flushMs);
        const quiet = setTimeout(done, Math.min(quietMs, flushMs));
        stopWatching = this.transport.onData(() => quiet.refresh());
      });
    } finally {
      stopWatching();
      this.discarding = false;
      this.framer.reset();
    }
  }

  private pump(): void {
    if (this.active || this.closed || this.resyncTimer) return;
    const next = this.queue.shift();
    if (!next) return;
    this.active = next;
    next.wire = this.currentMode === "shell" ? encodeShellCommand(next.command) : next.command;
    next.startedAt = performance.now();
    next.timer = setTimeout(() => this.timeOut(next), next.timeoutMs);
    this.options.log?.("tx", next.wire);
    this.transport.write(next.wire + this.terminator).catch((error: unknown) => {
      if (this.active !== next) return;
      this.finish(next, () => next.reject(this.disconnectedError(next, "in flight", error)));
    });
  }

  private handleFrame(frame: AtFrame): void {
    if (this.discarding) return;
    if (frame.kind === "framing-error") {
      this.options.log?.("rx", `(framing error: ${frame.reason}, ${frame.discarded.length} chars)`);
      if (this.active) this.active.framingError ??= frame; // the first cause; later ones follow from it
      return;
    }
    const line = (this.currentMode === "shell" ? stripShellPrompt(frame.text) : frame.text).trim();
    if (line === "") return;
    this.options.log?.("rx", line);
    const active = this.active;
    if (!active && this.resyncTimer && parseFinalResult(line)) {
      this.endResync(); // the timed-out command's late answer: not the next command's
      return;
    }
    if (!active) {
      this.emitUrc(line);
      return;
    }
    if (line === active.wire) return; // echo
    const final = parseFinalResult(line);
    if (final) this.complete(active, final);
    else if (belongsTo(line, active.matcher)) active.lines.push(line);
    else this.emitUrc(line);
  }

  private emitUrc(line: string): void {
    for (const listener of this.urcListeners) listener(line);
  }

  private complete(pending: PendingCommand, final: FinalResult): void {
    const durationMs = performance.now() - pending.startedAt;
    this.finish(pending, () => {
      if (final.kind === "ok" && !pending.framingError) {
        pending.resolve({
          command: pending.command,
          lines: pending.lines,
          final: "OK",
          durationMs,
        });
      } else {
        pending.reject(this.failureError(pending, final));
      }
    });
  }

  /**
   * AT has no request IDs: a late answer would be taken for the next command's. So after a
   * timeout the queue waits briefly for that final result code and swallows it.
   */
  private timeOut(pending: PendingCommand): void {
    if (this.active !== pending) return;
    this.resyncTimer = setTimeout(() => this.endResync(), this.options.resyncMs ?? 250);
    const described = describeCommand(pending.command);
    this.finish(pending, () =>
      pending.reject(
        new AtError(
          "ERR_AT_TIMEOUT",
          `no final result for ${described} from ${this.portName} within ${pending.timeoutMs} ms: ` +
            "check that the board is powered, that this is its AT port (nrf-provision ports), " +
            "and the terminator / shell mode settings",
          {
            details: { port: this.portName, command: described, timeoutMs: pending.timeoutMs },
          },
        ),
      ),
    );
  }

  private endResync(): void {
    clearTimeout(this.resyncTimer);
    this.resyncTimer = undefined;
    this.pump();
  }

  /** Settles the active command and starts the next one. */
  private finish(pending: PendingCommand, settle: () => void): void {
    clearTimeout(pending.timer);
    this.active = undefined;
    settle();
    this.pump();
  }

  private failureError(pending: PendingCommand, final: FinalResult): AtError {
    const command = describeCommand(pending.command);
    const where = `${command} on ${this.portName}`;
    const details = { port: this.portName, command };
    switch (final.kind) {
      case "ok": {
        const discarded = pending.framingError?.discarded.length ?? 0;
        return new AtError(
          "ERR_AT_FRAMING",
          `${where}: the response was garbled (${pending.framingError?.reason}; ${discarded} ` +
            "characters lost), so it cannot be trusted; retry the command",
          { details: { ...details, reason: pending.framingError?.reason } },
        );
      }
      case "error":
        return new AtError(
          "ERR_AT_ERROR",
          `${where} failed with ERROR: the firmware does not support it or rejected its parameters`,
          { details },
        );
      case "cme": {
        const meaning = final.code === null ? final.text : cmeMeaning(final.code, pending.command);
        return new AtError(
          "ERR_AT_CME",
          `${where} failed: +CME ERROR: ${final.text} (${meaning})`,
          {
            details: { ...details, cme: final.code, meaning },
          },
        );
      }
      case "cms":
        return new AtError("ERR_AT_CMS", `${where} failed: +CMS ERROR: ${final.text}`, {
          details: { ...details, cms: final.code },
        });
    }
  }

  private disconnectedError(pending: PendingCommand, state: string, cause?: unknown): AtError {
    const command = describeCommand(pending.command);
    return new AtError(
      "ERR_AT_DISCONNECTED",
      `${this.portName} closed while ${command} was ${state}: reconnect the board and retry`,
      { cause, details: { port: this.portName, command } },
    );
  }

  /** Fails the in-flight and every queued command at once; nothing waits for a timeout. */
  private shutDown(error?: Error, reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.resyncTimer);
    for (const stop of this.unsubscribe) stop();
    const cause = error ?? (reason ? new Error(reason) : undefined);
    const active = this.active;
    this.active = undefined;
    if (active) {
      clearTimeout(active.timer);
      active.reject(this.disconnectedError(active, "in flight", cause));
    }
    for (const queued of this.queue.splice(0)) {
      queued.reject(this.disconnectedError(queued, "queued", cause));
    }
  }

  /** Probes shell firmware first, then plain AT; each probe is retried once (nrf91-at.md §9). */
  async detectMode(probeTimeoutMs: number): Promise<AtMode> {
    const probe = async (mode: AtMode, accept: (lines: string[]) => boolean) => {
      this.currentMode = mode;
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          const response = await this.send("AT+CGSN", { timeoutMs: probeTimeoutMs });
          if (accept(response.lines)) return true;
        } catch (error) {
          if (error instanceof AtError && error.code === "ERR_AT_DISCONNECTED") throw error;
        }
      }
      return false;
    };
    if (await probe("shell", (lines) => lines.length > 0)) return "shell";
    if (await probe("at", () => true)) return "at";
    throw new AtError(
      "ERR_AT_NO_RESPONDER",
      `no AT responder on ${this.portName}: neither "at AT+CGSN" (shell firmware) nor "AT+CGSN" ` +
        "got an answer; check the port (nrf-provision ports), the firmware and the baud rate",
      { details: { port: this.portName, command: "AT+CGSN" } },
    );
  }
}

/**
 * Starts an AT session on `transport`: flushes a stale partial command, picks AT or shell
 * mode, and enables numeric error codes. On failure the transport is closed.
 */
export async function openAtClient(
  transport: ByteTransport,
  options: AtClientOptions = {},
): Promise<AtClient> {
  const session = new AtSession(transport, options, options.terminator ?? "\r\n");
  try {
    await session.flush(options.flushMs ?? 100, options.flushQuietMs ?? 30);
    const mode = options.mode ?? "auto";
    session.useMode(
      mode === "auto" ? await session.detectMode(options.probeTimeoutMs ?? 500) : mode,
    );
    if (options.enableCmee ?? true) await session.send("AT+CMEE=1");
    return session;
  } catch (error) {
    await session.close().catch(() => {});
    throw error;
  }
}
