/**
 * What a production line looks like at one moment: the shape `line status --json` prints and the
 * line dashboard draws. Built from the shared store; plain data, no behaviour.
 */
export interface LineStatus {
  /** When this picture was taken (ISO 8601). */
  generatedAt: string;
  stations: StationStatus[];
  /** Every board the line knows, newest activity first. */
  boards: BoardStatus[];
  /** Recent failures with their reasons, newest first. */
  failures: FailureRecord[];
  line: LineTotals;
}

export interface LineTotals {
  inProgress: number;
  done: number;
  failed: number;
  /** Boards finished per minute over the recent window, all stations together. */
  ratePerMinute: number;
}

export interface StationStatus {
  id: string;
  host: string;
  pid: number;
  /** Heartbeat newer than the line's timeout. */
  alive: boolean;
  lastHeartbeat: string;
  inProgress: number;
  done: number;
  failed: number;
  ratePerMinute: number;
  /** Serial number (hex) of the station's intermediate CA certificate, when it has one. */
  intermediateSerial?: string | undefined;
  /** Its intermediate is refused line-wide (`ca revoke-station`). */
  revoked: boolean;
}

export type BoardState = "in-progress" | "done" | "failed";

export interface BoardStatus {
  deviceId: string;
  imei?: string | undefined;
  /** A done board: the station that issued its certificate; else the one working on it (or last). */
  station: string;
  /** The provisioning step the board is in or last finished (the journal's step names). */
  step: string;
  state: BoardState;
  updatedAt: string;
}

export interface FailureRecord {
  deviceId: string;
  imei?: string | undefined;
  station: string;
  step: string;
  /** The error's stable code, e.g. ERR_AT_TIMEOUT. */
  code: string;
  message: string;
  at: string;
}
