/** Longest command AT_HOST accepts: a 4096-byte buffer with one byte kept for NUL. */
export const MAX_COMMAND_BYTES = 4095;

export type SimTerminator = "\r" | "\n" | "\r\n";

export interface FramedCommand {
  text: string;
  /** Bytes beyond MAX_COMMAND_BYTES were dropped, as AT_HOST does: the command is corrupt. */
  overflowed: boolean;
}

const CR = 0x0d;
const LF = 0x0a;
const QUOTE = 0x22;
const BACKSPACE = 0x08;
const DEL = 0x7f;

/**
 * Splits incoming bytes into commands the way the modem's AT host does: a terminator inside
 * `"…"` is data (a multi-line PEM arrives whole); in CRLF mode a LF ends the command only right
 * after a CR; backspace/DEL delete the previous byte. In shell mode a line ends at CR or LF
 * (quotes do not group lines there), and the line editor keeps printable ASCII only.
 */
export class SimCommandFramer {
  private buffer: number[] = [];
  private inQuotes = false;
  private overflowed = false;
  private previous = -1;

  constructor(
    private readonly terminator: SimTerminator,
    private readonly shell = false,
  ) {}

  push(chunk: Uint8Array): FramedCommand[] {
    const commands: FramedCommand[] = [];
    for (const byte of chunk) {
      const command = this.pushByte(byte);
      if (command) commands.push(command);
      this.previous = byte;
    }
    return commands;
  }

  private pushByte(byte: number): FramedCommand | null {
    if (byte === BACKSPACE || byte === DEL) {
      const removed = this.buffer.pop();
      if (removed === QUOTE && !this.shell) this.inQuotes = !this.inQuotes;
      return null;
    }
    // The shell takes CR LF as one line end.
    if (this.shell && byte === LF && this.previous === CR) return null;
    if (!this.inQuotes && this.ends(byte)) return this.finish();
    // Zephyr's line editor inserts printable characters only; tab, escape and other control
    // bytes act as editing keys, and bytes above 0x7e are dropped.
    if (this.shell && (byte < 0x20 || byte > 0x7e)) return null;
    if (byte === QUOTE && !this.shell) this.inQuotes = !this.inQuotes;
    // In CRLF mode a CR may be the first half of the terminator: it does not count.
    const pendingTerminator =
      byte === CR && !this.shell && this.terminator === "\r\n" && !this.inQuotes;
    if (this.buffer.length < MAX_COMMAND_BYTES || pendingTerminator) this.buffer.push(byte);
    else this.overflowed = true;
    return null;
  }

  private ends(byte: number): boolean {
    if (this.shell) return byte === CR || byte === LF;
    if (this.terminator === "\r") return byte === CR;
    if (this.terminator === "\n") return byte === LF;
    return byte === LF && this.previous === CR;
  }

  private finish(): FramedCommand | null {
    let bytes = this.buffer;
    // CRLF mode: the CR before the LF belongs to the terminator.
    if (!this.shell && this.terminator === "\r\n" && bytes[bytes.length - 1] === CR)
      bytes = bytes.slice(0, -1);
    const text = Buffer.from(bytes).toString("utf8");
    const overflowed = this.overflowed;
    this.buffer = [];
    this.overflowed = false;
    // A LF left over from CRLF sent to CR firmware starts the next command: tolerate it.
    const trimmed = text.replace(/^[\r\n]+/, "");
    // AT_HOST ignores a command without a printable character; the shell prints a new prompt.
    if (!/[^\s]/.test(trimmed)) return this.shell ? { text: "", overflowed } : null;
    return { text: trimmed, overflowed };
  }
}
