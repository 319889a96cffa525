import { isFinalResultLine } from "./result-codes.js";

/** One logical line from the modem, or a report that the framer had to resynchronise. */
export type AtFrame =
  | { kind: "line"; text: string }
  | { kind: "framing-error"; reason: "unbalanced-quote" | "line-too-long"; discarded: string };

/** Longest logical line kept, in bytes (the modem's AT buffer size, nrf91-at.md §2.1). */
export const MAX_LINE_BYTES = 4096;

const CR = 0x0d;
const LF = 0x0a;
const QUOTE = 0x22;
const ESC = 0x1b;

/** Where the ANSI escape stripper is inside a sequence split across chunks. */
type EscapeState = "none" | "escape" | "csi";

/**
 * Splits the modem's byte stream into logical lines (nrf91-at.md §2.3).
 *
 * CR/LF end a line only outside double quotes, so a PEM inside `"…"` stays one line. ANSI
 * escapes (shell colours) are dropped and blank lines skipped. A stray unbalanced quote must
 * not swallow the stream: a final result code line seen inside quotes, or a line over the
 * cap, resets the quote flag and yields a framing error. Pure; never throws.
 */
export class AtLineFramer {
  private readonly maxLineBytes: number;
  private buffer: Uint8Array;
  private length = 0;
  private inQuotes = false;
  /** Start of the current physical line inside a quoted run (to spot a final result code). */
  private segmentStart = 0;
  private escape: EscapeState = "none";

  constructor(options: { maxLineBytes?: number | undefined } = {}) {
    this.maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
    this.buffer = new Uint8Array(256);
  }

  /** Feeds bytes; returns the frames they complete (possibly none). */
  push(chunk: Uint8Array): AtFrame[] {
    const frames: AtFrame[] = [];
    for (const byte of chunk) {
      if (this.skipEscape(byte)) continue;
      if ((byte === CR || byte === LF) && !this.inQuotes) {
        this.endLine(frames);
      } else if ((byte === CR || byte === LF) && this.inQuotes) {
        this.endQuotedSegment(frames, byte);
      } else {
        if (byte === QUOTE) this.inQuotes = !this.inQuotes;
        this.append(byte);
        if (this.length >= this.maxLineBytes) this.overflow(frames);
      }
    }
    return frames;
  }

  /** Drops any partial line (e.g. noise received before the session started). */
  reset(): void {
    this.length = 0;
    this.segmentStart = 0;
    this.inQuotes = false;
    this.escape = "none";
  }

  /** Consumes bytes of an ANSI escape sequence (`ESC [ … final` or `ESC x`). */
  private skipEscape(byte: number): boolean {
    switch (this.escape) {
      case "none":
        if (byte !== ESC) return false;
        this.escape = "escape";
        return true;
      case "escape":
        if (byte < 0x20) break; // a broken sequence must not swallow a line break
        this.escape = byte === 0x5b ? "csi" : "none";
        return true;
      case "csi":
        if (byte < 0x20 || byte > 0x7e) break;
        // Parameter and intermediate bytes are 0x20–0x3f; a byte in 0x40–0x7e ends it.
        if (byte >= 0x40) this.escape = "none";
        return true;
    }
    this.escape = "none";
    return false;
  }

  private append(byte: number): void {
    if (this.length === this.buffer.length) {
      const grown = new Uint8Array(this.buffer.length * 2);
      grown.set(this.buffer);
      this.buffer = grown;
    }
    this.buffer[this.length++] = byte;
  }

  private text(start: number, end: number): string {
    return Buffer.from(this.buffer.buffer, this.buffer.byteOffset + start, end - start).toString(
      "utf8",
    );
  }

  private endLine(frames: AtFrame[]): void {
    const text = this.text(0, this.length);
    this.length = 0;
    this.segmentStart = 0;
    if (text.trim() !== "") frames.push({ kind: "line", text });
  }

  /**
   * A line break inside quotes is kept, unless the physical line it ends is a final result
   * code: then the opening quote was a stray one and everything since it is given up.
   */
  private endQuotedSegment(frames: AtFrame[], byte: number): void {
    const segment = this.text(this.segmentStart, this.length);
    if (isFinalResultLine(segment.trim())) {
      frames.push({
        kind: "framing-error",
        reason: "unbalanced-quote",
        discarded: this.text(0, this.segmentStart),
      });
      this.inQuotes = false;
      this.length = 0;
      this.segmentStart = 0;
      frames.push({ kind: "line", text: segment });
      return;
    }
    this.append(byte);
    this.segmentStart = this.length;
    if (this.length >= this.maxLineBytes) this.overflow(frames);
  }

  private overflow(frames: AtFrame[]): void {
    frames.push({
      kind: "framing-error",
      reason: "line-too-long",
      discarded: this.text(0, this.length),
    });
    this.reset();
  }
}
