import type { SimUrcLevel } from "./options.js";
import { isActiveMode } from "./state.js";

/** Unsolicited lines to print around one command's answer. */
export interface Unsolicited {
  /** Printed before the answer (between the command and its final result code). */
  before: string[];
  /** Printed shortly after the answer, as the network reacts. */
  after: string[];
}

const two = (n: number) => String(n).padStart(2, "0");
const three = (n: number) => String(n).padStart(3, "0");

/** Zephyr's log timestamp: `[hh:mm:ss.mmm,uuu]` since boot. */
export function zephyrTimestamp(uptimeMicros: number): string {
  const micros = Math.floor(uptimeMicros);
  const ms = Math.floor(micros / 1000);
  const s = Math.floor(ms / 1000);
  return `[${two(Math.floor(s / 3600))}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}.${three(ms % 1000)},${three(micros % 1000)}]`;
}

/**
 * What an application on the board (asset_tracker on the DK of
 * `transcript_2021_nrf9160dk_windows_edited.txt`) prints while the modem changes state:
 * `+CSCON` (RRC), `+CEREG` (registration) and its own Zephyr log lines.
 */
export class UrcSource {
  private readonly bootedAt = performance.now();
  private answered = 0;

  constructor(private readonly level: SimUrcLevel) {}

  private log(text: string): string {
    // A board has been up a while when a host connects.
    const uptimeMicros = 28_000_000 + (performance.now() - this.bootedAt) * 1000;
    return `${zephyrTimestamp(uptimeMicros)} <inf> asset_tracker: ${text}`;
  }

  /** The lines around a command that moved the modem from functional mode `from` to `to`. */
  around(from: number, to: number): Unsolicited {
    const none: Unsolicited = { before: [], after: [] };
    if (this.level === "none") return none;
    const chatter = this.level === "chatty" ? [this.chatter()] : [];
    if (isActiveMode(from) && !isActiveMode(to)) {
      // Leaving the network: the shape of the real transcript, six lines before OK.
      return {
        before: [
          ...chatter,
          "+CSCON: 1",
          this.log("RRC mode: Connected"),
          "+CEREG: 0",
          this.log("LTE cell changed: Cell ID: -1, Tracking area: -1"),
          "+CSCON: 0",
          this.log("RRC mode: Idle"),
        ],
        after: [],
      };
    }
    if (!isActiveMode(from) && (to === 1 || to === 21)) {
      return {
        before: chatter,
        after: [
          '+CEREG: 2,"702A","08C3BD0C",7',
          "+CSCON: 1",
          this.log("RRC mode: Connected"),
          '+CEREG: 1,"702A","08C3BD0C",7,,,"11100000","11100000"',
          this.log("Network registration status: Connected - home network"),
        ],
      };
    }
    return { before: chatter, after: [] };
  }

  /** `chatty`: something unsolicited before an answer, a URC and a log line in turn. */
  private chatter(): string {
    this.answered++;
    return this.answered % 2 === 1
      ? "%CESQ: 54,2,16,2"
      : this.log(`Modem signal quality changed (${this.answered})`);
  }

  /** Lines before the answer of a command that did not change the functional mode. */
  beforeAnswer(): string[] {
    return this.level === "chatty" ? [this.chatter()] : [];
  }
}
