import type { StationEvent } from "./station.js";

/**
 * Where the live view draws: a terminal stream such as `process.stderr`. `columns` and `rows`
 * are read on every frame, and a `resize` event (SIGWINCH) redraws at once.
 */
export interface LiveViewTerminal {
  write(text: string): unknown;
  columns?: number;
  rows?: number;
  on?(event: "resize", listener: () => void): unknown;
  off?(event: "resize", listener: () => void): unknown;
}

export interface LiveViewOptions {
  clock?: () => number;
  /** Least time between two frames drawn for events (100 ms). */
  intervalMs?: number;
}

/** One board as the view shows it. */
export interface BoardRow {
  port: string;
  deviceId?: string;
  step: string;
  startedAt: number;
  endedAt?: number;
  state: "running" | "ok" | "failed";
  /** What ended it: the outcome (`provisioned`, `resumed` …) or the failed step's code. */
  result?: string;
}

const stateLabels: Record<BoardRow["state"], string> = {
  running: "…",
  ok: "ok",
  failed: "FAILED",
};

/**
 * The TTY live view of a station: one row per board (port, state, elapsed, step or result,
 * device ID) and a totals line, redrawn in place. Every row is cut to the terminal's width, so
 * no row ever wraps (a wrapped row is what left stale copies behind on each redraw); frames
 * are at most one screen high so the cursor can always get back to their first row; the last
 * frame lists every board.
 */
export class LiveView {
  private readonly rows = new Map<string, BoardRow>();
  private readonly clock: () => number;
  private readonly intervalMs: number;
  /** Length of each line of the frame on screen (to find its top again after a resize). */
  private drawn: number[] = [];
  private lastDraw = Number.NEGATIVE_INFINITY;
  private uploads = 0;
  private watching = false;
  private stopping = false;
  private ended = false;
  private readonly timer: NodeJS.Timeout;
  private readonly onResize = () => this.draw();

  constructor(
    private readonly terminal: LiveViewTerminal,
    options: LiveViewOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.intervalMs = options.intervalMs ?? 100;
    // Elapsed times move even when no event arrives.
    this.timer = setInterval(() => this.draw(), 500).unref();
    terminal.on?.("resize", this.onResize);
  }

  readonly handle = (event: StationEvent): void => {
    if (this.ended) return;
    const now = this.clock();
    switch (event.type) {
      case "station-start":
        this.watching = event.watch;
        this.draw(); // something on screen even while no board is attached
        return;
      case "board-found":
        this.rows.set(event.port, {
          port: event.port,
          step: "connect",
          startedAt: now,
          state: "running",
        });
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
          row.state = event.type === "board-done" ? "ok" : "failed";
          row.result = event.type === "board-done" ? event.outcome : event.code;
          if (event.type === "board-failed") row.step = event.step;
        }
        break;
      }
      case "onboarding-upload":
        this.uploads++;
        break;
      case "station-stopping":
        this.stopping = true;
        break;
      case "station-end":
        this.close();
        return;
      default:
        break;
    }
    if (now - this.lastDraw >= this.intervalMs) this.draw();
  };

  /** Draws the last frame (every board), if any was drawn, and stops listening to the terminal. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.timer);
    this.terminal.off?.("resize", this.onResize);
    if (this.drawn.length > 0) this.draw(true);
  }

  private draw(final = false): void {
    if (this.ended && !final) return;
    const now = this.clock();
    this.lastDraw = now;
    const width = Math.max(20, this.terminal.columns ?? 80);
    const height = Math.max(3, this.terminal.rows ?? 24);
    // One column less than the width: a line filling the last column leaves the cursor in
    // the terminal's "pending wrap" state, which terminals resolve differently.
    const lines = this.frame(now, width - 1, final ? Number.POSITIVE_INFINITY : height - 1).map(
      (line) => cutTail(line, width - 1),
    );
    // The previous frame's lines are at most one row each at the width they were drawn for;
    // if the terminal narrowed since and reflows text (tmux, VTE, iTerm2, Windows Terminal),
    // a line now takes ceil(length / width) rows, so go up that far to reach its top.
    const up = this.drawn.reduce(
      (rows, length) => rows + Math.max(1, Math.ceil(length / width)),
      0,
    );
    const moveUp = up > 0 ? `\x1b[${up}A` : "";
    // Each line is erased and rewritten in place; what is left of a longer old frame is
    // erased after the new one. Never erase from the top-left corner down: terminals such as
    // tmux (scroll-on-clear) take that for "clear screen" and push the old screen into the
    // scroll-back, leaving a copy of every frame there.
    this.terminal.write(`\r${moveUp}${lines.map((line) => `\x1b[2K${line}`).join("\n")}\n\x1b[J`);
    this.drawn = lines.map(displayLength);
  }

  /** The rows to show (all of them, or the running and latest ones) and the totals line. */
  private frame(now: number, width: number, maxLines: number): string[] {
    const rows = [...this.rows.values()];
    const count = (state: BoardRow["state"]) => rows.filter((row) => row.state === state).length;
    const shown = rows.length + 1 <= maxLines ? rows : mostRelevant(rows, maxLines - 1);
    const hidden = rows.length - shown.length;
    const totals = [
      `boards ${rows.length}`,
      `ok ${count("ok")}`,
      `failed ${count("failed")}`,
      `running ${count("running")}`,
      ...(this.uploads > 0 ? [`uploads ${this.uploads}`] : []),
      ...(hidden > 0 ? [`(${hidden} not shown)`] : []),
      ...(this.ended
        ? []
        : this.stopping
          ? ["stopping: boards in progress finish"]
          : this.watching
            ? ["watching: Ctrl-C stops"]
            : []),
    ].join("  ");
    return [...layoutBoardRows(shown, width, now), totals];
  }
}

/** Running boards first, then the most recently finished, kept in the order they were found. */
function mostRelevant(rows: BoardRow[], limit: number): BoardRow[] {
  if (limit <= 0) return [];
  const ranked = [...rows].sort((a, b) => {
    if ((a.endedAt === undefined) !== (b.endedAt === undefined)) {
      return a.endedAt === undefined ? -1 : 1;
    }
    return (b.endedAt ?? 0) - (a.endedAt ?? 0);
  });
  const keep = new Set(ranked.slice(0, limit));
  return rows.filter((row) => keep.has(row));
}

type Column = "port" | "state" | "elapsed" | "detail" | "device";

/**
 * The rows as text no wider than `width`: columns as wide as their longest value, then, while
 * too wide, the device ID, the port (keeping its end, where the board's name is) and the
 * step/result are shortened in that order, and the device ID dropped last.
 */
export function layoutBoardRows(rows: readonly BoardRow[], width: number, now: number): string[] {
  const cells = rows.map((row) => ({
    port: row.port,
    state: stateLabels[row.state],
    elapsed: `${(((row.endedAt ?? now) - row.startedAt) / 1000).toFixed(1)}s`,
    detail:
      row.state === "ok"
        ? (row.result ?? "done")
        : row.state === "failed"
          ? `${row.step} ${row.result ?? ""}`.trim()
          : row.step,
    device: row.deviceId ?? "",
  }));
  const widest = (column: Column) =>
    Math.max(0, ...cells.map((cell) => displayLength(cell[column])));
  const widths: Record<Column, number> = {
    port: widest("port"),
    state: widest("state"),
    elapsed: widest("elapsed"),
    detail: widest("detail"),
    device: widest("device"),
  };
  const total = () =>
    widths.port +
    widths.state +
    widths.elapsed +
    widths.detail +
    widths.device +
    2 * (widths.device > 0 ? 4 : 3);
  for (const [column, least] of [
    ["device", 12],
    ["port", 12],
    ["device", 0],
    ["detail", 11],
    ["port", 6],
  ] as const) {
    const over = total() - width;
    if (over <= 0) break;
    widths[column] = Math.max(least, Math.min(widths[column], widths[column] - over));
  }
  return cells.map((cell) => {
    const parts = [
      cutHead(cell.port, widths.port).padEnd(widths.port),
      cell.state.padEnd(widths.state),
      cell.elapsed.padStart(widths.elapsed),
      cutTail(cell.detail, widths.detail).padEnd(widths.detail),
      ...(widths.device > 0 ? [cutTail(cell.device, widths.device)] : []),
    ];
    return cutTail(parts.join("  ").trimEnd(), width);
  });
}

/** Characters on screen (code points: every text here is one column per code point). */
function displayLength(text: string): number {
  return [...text].length;
}

/** `text` at most `width` long, its end replaced by "…" if cut. */
function cutTail(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return width <= 0 ? "" : `${chars.slice(0, width - 1).join("")}…`;
}

/** `text` at most `width` long, its start replaced by "…" if cut (ports end with their name). */
function cutHead(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return width <= 0 ? "" : `…${chars.slice(chars.length - width + 1).join("")}`;
}
