import type { Writable } from "node:stream";
import type { StationEvent, StationSummary } from "./station.js";

/** `--jsonl`: one JSON object per event and line, with the time it happened. */
export function jsonlEventWriter(
  out: Writable,
  clock: () => number = Date.now,
): (event: StationEvent) => void {
  return (event) => {
    out.write(`${JSON.stringify({ time: new Date(clock()).toISOString(), ...event })}\n`);
  };
}

/** Without a TTY and without --jsonl: one line per finished board, for logs. */
export function plainEventWriter(out: Writable): (event: StationEvent) => void {
  return (event) => {
    if (event.type === "board-done") {
      out.write(
        `ok      ${event.board.port}  ${event.board.deviceId}  ${event.outcome}  serial ${event.serialNumber}  onboarding ${event.onboarding}  ${event.totalMs} ms\n`,
      );
    } else if (event.type === "board-failed") {
      out.write(`FAILED  ${event.board.port}  ${event.step}  ${event.message} [${event.code}]\n`);
    } else if (event.type === "onboarding-result" && !event.ok) {
      out.write(`FAILED  onboarding ${event.deviceId}: ${event.message ?? ""}\n`);
    }
  };
}

interface BoardRow {
  port: string;
  deviceId?: string;
  step: string;
  startedAt: number;
  endedAt?: number;
  result?: string;
}

/**
 * The TTY live view: one row per board (port, device, current step, elapsed, result) and a
 * totals line, redrawn in place with ANSI escapes at most every `intervalMs`.
 */
export class LiveView {
  private readonly rows = new Map<string, BoardRow>();
  private drawnLines = 0;
  private lastDraw = 0;
  private readonly timer: NodeJS.Timeout;
  private uploads = 0;

  constructor(
    private readonly out: Writable,
    private readonly clock: () => number = Date.now,
    private readonly intervalMs = 100,
  ) {
    // Elapsed times move even when no event arrives.
    this.timer = setInterval(() => this.draw(), 500).unref();
  }

  readonly handle = (event: StationEvent): void => {
    const now = this.clock();
    switch (event.type) {
      case "board-found":
        this.rows.set(event.port, { port: event.port, step: "connect", startedAt: now });
        break;
      case "step-start": {
        const row = this.rows.get(event.board.port);
        if (row !== undefined) {
          row.step = event.step;
          if (event.board.deviceId !== undefined) row.deviceId = event.board.deviceId;
        }
        break;
      }
      case "board-done":
      case "board-failed": {
        const row = this.rows.get(event.board.port);
        if (row !== undefined) {
          row.endedAt = now;
          if (event.board.deviceId !== undefined) row.deviceId = event.board.deviceId;
          row.result =
            event.type === "board-done" ? `ok (${event.outcome})` : `FAILED ${event.code}`;
          row.step = event.type === "board-failed" ? event.step : "done";
        }
        break;
      }
      case "onboarding-upload":
        this.uploads++;
        break;
      case "station-end":
        clearInterval(this.timer);
        this.draw(true);
        return;
      default:
        break;
    }
    if (now - this.lastDraw >= this.intervalMs) this.draw();
  };

  private draw(force = false): void {
    const now = this.clock();
    if (!force && now - this.lastDraw < this.intervalMs / 2) return;
    this.lastDraw = now;
    const rows = [...this.rows.values()];
    const done = rows.filter((row) => row.result?.startsWith("ok")).length;
    const failed = rows.filter((row) => row.result?.startsWith("FAILED")).length;
    if (rows.length === 0 && !force) return;
    // Columns as wide as their longest value (ports can be long /dev/serial/by-id paths).
    const portWidth = Math.max(...rows.map((row) => row.port.length), 4) + 2;
    const idWidth = Math.max(...rows.map((row) => row.deviceId?.length ?? 0), 6) + 2;
    const lines = rows.map((row) => {
      const elapsed = ((row.endedAt ?? now) - row.startedAt) / 1000;
      return [
        row.port.padEnd(portWidth),
        (row.deviceId ?? "").padEnd(idWidth),
        row.step.padEnd(19),
        `${elapsed.toFixed(1)}s`.padStart(7),
        "  ",
        row.result ?? "…",
      ].join("");
    });
    lines.push(
      `boards ${rows.length}  ok ${done}  failed ${failed}  running ${rows.length - done - failed}  bulk uploads ${this.uploads}`,
    );
    // Move up over the previous frame and overwrite it line by line.
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F` : "";
    this.out.write(`${up}${lines.map((line) => `\x1b[2K${line}`).join("\n")}\n`);
    this.drawnLines = lines.length;
  }
}

/** The final summary, human-readable. */
export function formatStationSummary(summary: StationSummary): string[] {
  const lines = [
    `station: ${summary.succeeded} of ${summary.boards} board(s) succeeded, ${summary.failed} failure(s) in ${(summary.wallMs / 1000).toFixed(1)} s${summary.interrupted ? " (interrupted)" : ""}`,
    `  provisioned now ${summary.outcomes.provisioned}, resumed ${summary.outcomes.resumed}, already provisioned ${summary.outcomes["already-provisioned"]}`,
    `  onboarding (${summary.onboarding.mode}): ${summary.onboarding.onboarded} onboarded, ${summary.onboarding.failed} failed`,
  ];
  for (const failure of summary.failures) {
    const who = failure.port ?? failure.deviceId ?? "?";
    lines.push(`  FAILED ${who} at ${failure.step}: ${failure.message} [${failure.code}]`);
  }
  return lines;
}
