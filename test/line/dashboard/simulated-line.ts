import type {
  BoardStatus,
  FailureRecord,
  LineStatus,
  StationStatus,
} from "../../../src/line/status.js";

/** The journal's step names, in the order a board goes through them. */
export const STEPS = [
  "connect",
  "identity",
  "offline",
  "inventory",
  "keygen",
  "issue",
  "write-root-ca",
  "write-certificate",
  "verify",
  "onboard",
] as const;

interface Board {
  deviceId: string;
  imei: string;
  station: string;
  /** Index into STEPS; -1 while queued. */
  step: number;
  state: BoardStatus["state"];
  updatedAt: string;
  /** Fails once at this step, then starts over (a retried board). */
  failAt?: number;
  failedTicks: number;
}

/**
 * A production line that, while `running`, moves on by one tick each time its status is read: two stations,
 * `boardsPerStation` boards each, a few boards at a time per station, one board failing at
 * keygen once (with its reason) and then provisioned again. Ends with every board done.
 */
export class SimulatedLine {
  readonly boards: Board[] = [];
  readonly failures: FailureRecord[] = [];
  reads = 0;
  /** The line moves only while running (a test starts it once the page is watching). */
  running = false;
  readonly #stationIds = ["S1", "S2"];
  readonly #parallel: number;
  readonly #start = Date.parse("2026-12-02T06:00:00Z");

  constructor(options: { boardsPerStation: number; parallel?: number }) {
    this.#parallel = options.parallel ?? 4;
    for (const [s, station] of this.#stationIds.entries()) {
      for (let i = 0; i < options.boardsPerStation; i++) {
        const serial = s * 100 + i;
        this.boards.push({
          deviceId: `nrf-3526561000${String(serial).padStart(5, "0")}`,
          imei: `3526561000${String(serial).padStart(5, "0")}`,
          station,
          step: -1,
          state: "in-progress",
          updatedAt: this.#now(),
          failedTicks: 0,
          ...(station === "S2" && i === 5 ? { failAt: STEPS.indexOf("keygen") } : {}),
        });
      }
    }
  }

  get allDone(): boolean {
    return this.boards.every((board) => board.state === "done");
  }

  /** The status source the dashboard polls: each read is one tick of the line. */
  readonly readStatus = async (): Promise<LineStatus> => {
    this.reads++;
    if (this.running) this.#tick();
    return this.#snapshot();
  };

  #now(): string {
    return new Date(this.#start + this.reads * 1000).toISOString();
  }

  #tick(): void {
    for (const station of this.#stationIds) {
      const mine = this.boards.filter((board) => board.station === station);
      const active = mine.filter((board) => board.step >= 0 && board.state !== "done");
      for (const board of mine) {
        if (board.step === -1 && active.length < this.#parallel) {
          board.step = 0;
          board.updatedAt = this.#now();
          active.push(board);
        }
      }
      for (const board of active) this.#advance(board);
    }
  }

  #advance(board: Board): void {
    board.updatedAt = this.#now();
    if (board.state === "failed") {
      // Left failed for two ticks (the page shows it), then provisioned again from the start.
      if (++board.failedTicks > 2) Object.assign(board, { state: "in-progress", step: 0 });
      return;
    }
    if (board.failAt === board.step) {
      board.state = "failed";
      delete board.failAt;
      this.failures.unshift({
        deviceId: board.deviceId,
        imei: board.imei,
        station: board.station,
        step: STEPS[board.step]!,
        code: "ERR_AT_TIMEOUT",
        message: `no answer to AT%KEYGEN from ${board.deviceId} within 60 s`,
        at: board.updatedAt,
      });
      return;
    }
    if (board.step === STEPS.length - 1) board.state = "done";
    else board.step++;
  }

  #snapshot(): LineStatus {
    const boards = this.boards
      .filter((board) => board.step >= 0)
      .map(
        (board): BoardStatus => ({
          deviceId: board.deviceId,
          imei: board.imei,
          station: board.station,
          step: STEPS[board.step]!,
          state: board.state,
          updatedAt: board.updatedAt,
        }),
      );
    const stations = this.#stationIds.map((id, i) => this.#station(id, i, boards));
    const count = (state: BoardStatus["state"]) => boards.filter((b) => b.state === state).length;
    return {
      generatedAt: new Date().toISOString(),
      stations,
      boards,
      failures: [...this.failures],
      line: {
        inProgress: count("in-progress"),
        done: count("done"),
        failed: count("failed"),
        ratePerMinute: stations.reduce((sum, station) => sum + station.ratePerMinute, 0),
      },
    };
  }

  #station(id: string, index: number, boards: BoardStatus[]): StationStatus {
    const mine = boards.filter((board) => board.station === id);
    const done = mine.filter((board) => board.state === "done").length;
    return {
      id,
      host: `station-pc-${index + 1}`,
      pid: 4100 + index,
      alive: true,
      lastHeartbeat: this.#now(),
      inProgress: mine.filter((board) => board.state === "in-progress").length,
      done,
      failed: mine.filter((board) => board.state === "failed").length,
      ratePerMinute: this.reads === 0 ? 0 : (done * 60) / this.reads,
      intermediateSerial: `5a6880${index}`,
      revoked: false,
    };
  }
}
