import type { LineStatus } from "../status.js";

/** One message for the page: a new picture of the line, or why none could be read. */
export type DashboardMessage =
  | { kind: "status"; status: LineStatus }
  | { kind: "error"; message: string; at: string };

export interface SnapshotPollerOptions {
  readStatus: () => Promise<LineStatus>;
  pollIntervalMs: number;
  /** Told about every message that differs from the last one. */
  onMessage: (message: DashboardMessage) => void;
}

/**
 * Reads the line's status every `pollIntervalMs` (one read at a time, never overlapping) and
 * passes on a message only when the picture changed: `generatedAt` alone is no change.
 */
export class SnapshotPoller {
  readonly #options: SnapshotPollerOptions;
  #latest: DashboardMessage | undefined;
  #latestKey = "";
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #first: Promise<void> | undefined;

  constructor(options: SnapshotPollerOptions) {
    this.#options = options;
  }

  /** The last message, once the first read has finished. */
  get latest(): DashboardMessage | undefined {
    return this.#latest;
  }

  /** Starts polling; resolves after the first read (so the first page load has data). */
  start(): Promise<void> {
    this.#first ??= this.#poll();
    return this.#first;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }

  async #poll(): Promise<void> {
    const message = await this.#read();
    if (this.#stopped) return;
    const key = changeKey(message);
    if (key !== this.#latestKey) {
      this.#latest = message;
      this.#latestKey = key;
      this.#options.onMessage(message);
    }
    this.#timer = setTimeout(() => void this.#poll(), this.#options.pollIntervalMs);
    this.#timer.unref?.();
  }

  async #read(): Promise<DashboardMessage> {
    try {
      return { kind: "status", status: await this.#options.readStatus() };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { kind: "error", message, at: new Date().toISOString() };
    }
  }
}

function changeKey(message: DashboardMessage): string {
  if (message.kind === "error") return `error:${message.message}`;
  const { generatedAt: _generatedAt, ...picture } = message.status;
  return JSON.stringify(picture);
}
