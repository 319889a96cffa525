import { type AtClient, AtError, type AtResponse, type AtSendOptions } from "../../src/at/index.js";
import type { NrfProvisionError } from "../../src/errors/index.js";

/** What the scripted modem does for one command: answer lines then OK, or fail. */
export type ScriptedReply =
  | string[]
  | { cme: number }
  | { fail: NrfProvisionError }
  | ((command: string) => string[]);

/**
 * A test double implementing the AtClient contract: each command is answered from a script
 * (first matching rule wins), every command sent is recorded, and a command without a rule
 * fails like a modem answering plain ERROR.
 */
export class ScriptedAtClient implements AtClient {
  readonly portName = "scripted:modem";
  readonly mode = "at" as const;
  readonly sent: Array<{ command: string; options: AtSendOptions | undefined }> = [];
  closed = false;
  private readonly rules: Array<[string | RegExp, ScriptedReply]> = [];

  /** Adds a rule; exact string match or RegExp test. Later rules take precedence. */
  on(match: string | RegExp, reply: ScriptedReply): this {
    this.rules.unshift([match, reply]);
    return this;
  }

  get commands(): string[] {
    return this.sent.map((entry) => entry.command);
  }

  async send(command: string, options?: AtSendOptions): Promise<AtResponse> {
    this.sent.push({ command, options });
    const rule = this.rules.find(([match]) =>
      typeof match === "string" ? match === command : match.test(command),
    );
    const details = { port: this.portName, command };
    if (rule === undefined) {
      throw new AtError("ERR_AT_ERROR", `${command} → ERROR`, { details });
    }
    const reply = rule[1];
    if (typeof reply === "function") return this.ok(command, reply(command));
    if (Array.isArray(reply)) return this.ok(command, reply);
    if ("cme" in reply) {
      throw new AtError("ERR_AT_CME", `${command} → +CME ERROR: ${reply.cme}`, {
        details: { ...details, cme: reply.cme, meaning: "scripted" },
      });
    }
    throw reply.fail;
  }

  private ok(command: string, lines: string[]): AtResponse {
    return { command, lines, final: "OK", durationMs: 0 };
  }

  onUrc(): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
