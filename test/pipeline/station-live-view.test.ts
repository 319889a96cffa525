import { EventEmitter } from "node:events";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BoardRow,
  LiveView,
  layoutBoardRows,
  type StationSummary,
} from "../../src/pipeline/index.js";
import { socatAvailable, startSimModemOnPty } from "../../src/sim/modem/index.js";
import { CliInTerminal, tmuxAvailable } from "../cli/terminal.js";
import { createTestCa, type PtyBoard, passphrase, removeDir, tempDir } from "./fixtures.js";
import { stationArgs } from "./station-child.js";

const summary: StationSummary = {
  boards: 1,
  succeeded: 0,
  failed: 1,
  outcomes: { provisioned: 0, resumed: 0, "already-provisioned": 0 },
  onboarding: { mode: "none", onboarded: 0, failed: 0 },
  failures: [],
  interrupted: false,
  wallMs: 3000,
};

/** A terminal stream: records what is written, has a size, and emits "resize". */
class FakeTerminal extends EventEmitter {
  text = "";
  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }
  write(text: string): boolean {
    this.text += text;
    return true;
  }
}

/** The frames written, each as { up: rows moved up first, lines: the text drawn }. */
function frames(text: string): Array<{ up: number; lines: string[] }> {
  return text
    .split("\r")
    .slice(1)
    .map((frame) => {
      const up = /^\x1b\[(\d+)A/.exec(frame);
      const body = frame.slice(up?.[0].length ?? 0);
      expect(body.endsWith("\n\x1b[J")).toBe(true); // leftovers of a longer frame are erased
      const lines = body.slice(0, -"\n\x1b[J".length).split("\n");
      for (const line of lines) expect(line.startsWith("\x1b[2K")).toBe(true);
      return { up: Number(up?.[1] ?? 0), lines: lines.map((line) => line.slice(4)) };
    });
}

const longPort = "/dev/serial/by-id/usb-Nordic_Semiconductor_Thingy_91_X_F39CC1B120C-if00";
const uuid = "50363154-3931-44f0-8022-121b6401627d";

describe("layoutBoardRows", () => {
  const rows: BoardRow[] = [
    { port: longPort, deviceId: uuid, step: "write-certificate", startedAt: 0, state: "running" },
    {
      port: "/dev/ttyACM0",
      deviceId: uuid,
      step: "identity",
      startedAt: 0,
      endedAt: 2500,
      state: "failed",
      result: "ERR_MODEM_FIRMWARE_TOO_OLD",
    },
  ];

  it("keeps every column when they fit, aligned", () => {
    const lines = layoutBoardRows(rows, 200, 12_300);
    expect(lines[0]).toBe(
      `${longPort}  …       12.3s  write-certificate                    ${uuid}`,
    );
    expect(lines[1]).toMatch(
      /^\/dev\/ttyACM0 +FAILED +2\.5s {2}identity ERR_MODEM_FIRMWARE_TOO_OLD/,
    );
  });

  it.each([80, 60, 40, 20])("never makes a row wider than %i columns", (width) => {
    for (const line of layoutBoardRows(rows, width, 12_300)) {
      expect([...line].length).toBeLessThanOrEqual(width);
    }
  });

  it("shortens the port from its start (its name is at the end) and the device ID from its end", () => {
    const [running] = layoutBoardRows(rows, 79, 12_300);
    expect(running).toMatch(/^…[0-9A-F]*C-if00 +… +12\.3s {2}write-certificate +50363154-39…$/);
    expect([...running!].length).toBeLessThanOrEqual(79);
  });
});

describe("LiveView", () => {
  it("redraws in place: each frame goes back up over the rows of the previous one and erases them", () => {
    const terminal = new FakeTerminal(80, 24);
    let now = 0;
    const view = new LiveView(terminal, { clock: () => now, intervalMs: 0 });
    view.handle({ type: "board-found", port: "/dev/ttyACM0" });
    now = 1500;
    view.handle({
      type: "step-start",
      board: { port: "/dev/ttyACM0", deviceId: "nrf-1" },
      step: "keygen",
    });
    now = 3000;
    view.handle({
      type: "board-failed",
      board: { port: "/dev/ttyACM0", deviceId: "nrf-1" },
      step: "keygen",
      code: "ERR_AT_TIMEOUT",
      message: "…",
    });
    view.handle({ type: "station-end", summary });
    const drawn = frames(terminal.text);
    expect(drawn.length).toBeGreaterThan(2);
    expect(drawn[0]!.up).toBe(0); // the first frame moves nowhere
    for (const frame of drawn.slice(1)) expect(frame.up).toBe(2); // 1 row + totals
    const last = drawn.at(-1)!.lines;
    expect(last[0]).toMatch(
      /^\/dev\/ttyACM0 {2}FAILED {2}3\.0s {2}keygen ERR_AT_TIMEOUT {2}nrf-1$/,
    );
    expect(last[1]).toBe("boards 1  ok 0  failed 1  running 0");
  });

  it("on a resize to a narrower terminal, goes up as many rows as the old frame now takes, and redraws narrower", () => {
    const terminal = new FakeTerminal(100, 24);
    const view = new LiveView(terminal, { clock: () => 0, intervalMs: 0 });
    view.handle({ type: "board-found", port: longPort });
    view.handle({ type: "step-start", board: { port: longPort, deviceId: uuid }, step: "keygen" });
    const before = frames(terminal.text).at(-1)!.lines;
    expect(Math.max(...before.map((line) => line.length))).toBeGreaterThan(80);
    terminal.text = "";
    terminal.columns = 40;
    terminal.emit("resize");
    // Each old line (up to 99 characters) reflows into ceil(length / 40) rows.
    const rows = before.reduce((sum, line) => sum + Math.max(1, Math.ceil(line.length / 40)), 0);
    const [redrawn] = frames(terminal.text);
    expect(redrawn!.up).toBe(rows);
    for (const line of redrawn!.lines) expect([...line].length).toBeLessThan(40);
    view.close();
    expect(terminal.listenerCount("resize")).toBe(0);
  });

  it("draws at most one screen while running (running boards first), and every board at the end", () => {
    const terminal = new FakeTerminal(80, 6);
    let now = 0;
    const view = new LiveView(terminal, { clock: () => now, intervalMs: 0 });
    for (let i = 0; i < 8; i++) view.handle({ type: "board-found", port: `/dev/ttyACM${i}` });
    for (let i = 0; i < 6; i++) {
      now += 10;
      view.handle({
        type: "board-done",
        board: { port: `/dev/ttyACM${i}` },
        outcome: "provisioned",
        serialNumber: "01",
        onboarding: "none",
        totalMs: 10,
      });
    }
    const running = frames(terminal.text).at(-1)!.lines;
    expect(running).toHaveLength(5); // rows - 1
    expect(running.slice(0, 4).map((line) => line.split(" ")[0])).toEqual([
      "/dev/ttyACM4",
      "/dev/ttyACM5",
      "/dev/ttyACM6",
      "/dev/ttyACM7",
    ]);
    expect(running[4]).toContain("(4 not shown)");
    view.handle({ type: "station-end", summary });
    const final = frames(terminal.text).at(-1)!.lines;
    expect(final).toHaveLength(9);
    expect(final[8]).toMatch(/^boards 8 {2}ok 6 {2}failed 0 {2}running 2$/);
  });
});

const canRun = (await socatAvailable()) && (await tmuxAvailable());

/**
 * The station as a user sees it: the built CLI in a real pseudo-terminal (tmux, a full
 * terminal emulator) of a given size, six simulated boards, `--device-id uuid` so every row is
 * wider than 80 columns before it is cut. The final screen, and the whole scroll-back, must
 * hold exactly one row per board.
 */
describe.skipIf(!canRun)("station live view in a real terminal", () => {
  let dir: string;
  let caDir: string;
  let run = 0;

  beforeAll(async () => {
    dir = await tempDir("nrf-provision-tty-");
    const ca = await createTestCa(dir);
    await ca.ca.close();
    caDir = ca.caDir;
  });
  afterAll(async () => {
    if (dir) await removeDir(dir);
  });

  /** Six boards on short link paths (`…/p1` … `…/p6`), each with a KEYGEN slow enough to watch. */
  async function sixBoards(runDir: string): Promise<PtyBoard[]> {
    return Promise.all(
      [1, 2, 3, 4, 5, 6].map((n) =>
        startSimModemOnPty({ linkPath: join(runDir, `p${n}`), keygenMs: 1500 }),
      ),
    );
  }

  async function station(
    size: { columns: number; rows: number },
    during?: (terminal: CliInTerminal) => Promise<void>,
    env: Record<string, string> = {},
  ) {
    const runDir = join(dir, `run-${++run}`);
    await mkdir(runDir);
    const boards = await sixBoards(runDir);
    const terminal = await CliInTerminal.start(
      stationArgs(
        boards,
        caDir,
        join(runDir, "journal.jsonl"),
        "--device-id",
        "uuid",
        "--onboard",
        "none",
      ),
      { dir: runDir, ...size, env: { NRF_PROVISION_CA_PASSPHRASE: passphrase, ...env } },
    );
    try {
      await during?.(terminal);
      const code = await terminal.exitCode();
      return {
        code,
        screen: await terminal.screen(),
        transcript: await terminal.transcript(),
        boards,
      };
    } finally {
      await terminal.close();
      await Promise.all(boards.map((board) => board.close()));
    }
  }

  /**
   * Exactly one "ok" row per board, nothing running, nothing wider than the terminal: on the
   * screen, and unless `scrollBack` is false, in the whole scroll-back too (no stale frames).
   */
  function expectOneRowPerBoard(
    result: Awaited<ReturnType<typeof station>>,
    width: number,
    height: number,
    scrollBack = true,
  ) {
    const { code, screen, transcript } = result;
    const shown = `screen:\n${screen.join("\n")}\ntranscript:\n${transcript.join("\n")}`;
    expect(code, shown).toBe(0);
    expect(screen.length, shown).toBeLessThanOrEqual(height);
    for (const line of screen) expect([...line].length, shown).toBeLessThanOrEqual(width);
    for (const lines of scrollBack ? [screen, transcript] : [screen]) {
      const rows = lines.filter((line) => /\/p\d\b/.test(line));
      expect(rows, shown).toHaveLength(6);
      const boards = rows.map((line) => /\/p(\d)\b/.exec(line)?.[1]).sort();
      expect(boards, shown).toEqual(["1", "2", "3", "4", "5", "6"]);
      for (const row of rows) expect(row, shown).toMatch(/\/p\d +ok +\d+\.\ds {2}provisioned/);
      expect(
        lines.filter((line) => line.startsWith("boards ")),
        shown,
      ).toEqual(["boards 6  ok 6  failed 0  running 0"]);
      expect(lines.join("\n"), shown).not.toMatch(/\x1b|\[\d*[AJK]|…\s+\d+\.\ds/);
    }
    // The summary (stdout, not cut) is there once, after the view.
    const summaryLines = transcript.filter((line) => line.startsWith("station: "));
    expect(summaryLines, shown).toHaveLength(1);
    expect(summaryLines[0]).toMatch(/^station: 6 of 6 board\(s\) succeeded, 0 failure\(s\)/);
    expect(transcript.indexOf(summaryLines[0]!)).toBeGreaterThan(
      transcript.findIndex((line) => line.startsWith("boards ")),
    );
  }

  it("on an 80×24 terminal, a 6-board station ends with one row per board and nothing garbled", async () => {
    expectOneRowPerBoard(await station({ columns: 80, rows: 24 }), 80, 24);
  }, 180_000);

  it("on a 40×20 terminal, a 6-board station ends with one row per board and nothing garbled", async () => {
    expectOneRowPerBoard(await station({ columns: 40, rows: 20 }), 40, 20);
  }, 180_000);

  it("resized from 80×24 to 40×20 while the boards run, it redraws to the new width", async () => {
    const result = await station({ columns: 80, rows: 24 }, async (terminal) => {
      // Resize once the view shows boards at work.
      await terminal.until((screen) =>
        screen.some((line) => /^boards 6 .*running [1-6]/.test(line)),
      );
      await terminal.resize(40, 20);
    });
    // The screen only: narrowing makes tmux reflow the frame on screen at that moment, and
    // the rows it no longer has room for go to its scroll-back before the view can redraw.
    expectOneRowPerBoard(result, 40, 20, false);
  }, 180_000);

  it("with TERM=dumb, prints one plain line per board instead of the live view", async () => {
    const { code, transcript } = await station({ columns: 80, rows: 24 }, undefined, {
      TERM: "dumb",
    });
    const shown = transcript.join("\n");
    expect(code, shown).toBe(0);
    const rows = transcript.filter((line) => /^ok {6}\S+\/p\d {2}/.test(line));
    expect(rows.map((line) => /\/p(\d) /.exec(line)?.[1]).sort(), shown).toEqual([
      "1",
      "2",
      "3",
      "4",
      "5",
      "6",
    ]);
    expect(
      transcript.some((line) => line.startsWith("boards ")),
      shown,
    ).toBe(false);
    expect(shown).not.toContain("\x1b");
  }, 180_000);
});
