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
