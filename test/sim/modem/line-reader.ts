import type { ByteTransport } from "../../../src/serial/index.js";

// A final result line, possibly followed by the shell's blank line and its coloured prompt.
const finalLine = /(?:^|\r\n)(OK|ERROR|\+CME ERROR: \d+)\r\n(?:\r\n\x1b\[1;32muart:~\$ \x1b\[m)?$/;

/** Splits on CR LF outside double quotes (a PEM inside `"…"` stays one line). */
function splitLines(text: string): string[] {
  const lines: string[] = [];
  let current = "";
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') inQuotes = !inQuotes;
    if (!inQuotes && c === "\r" && text[i + 1] === "\n") {
      lines.push(current);
      current = "";
      i++;
    } else {
      current += c;
    }
  }
  if (current) lines.push(current);
  return lines.filter((line) => line.length > 0);
}

/**
 * A deliberately minimal host for tests: writes one command, collects bytes until a final
 * result line, returns the non-empty lines (final included). Not the project's AT client.
 */
export class LineReader {
  private buffer = "";
  private readonly waiters = new Set<() => void>();
  closedWith: Error | undefined | null = null;

  constructor(private readonly transport: ByteTransport) {
    transport.onData((chunk) => {
      this.buffer += Buffer.from(chunk).toString("utf8");
      this.wake();
    });
    transport.onClose((error) => {
      this.closedWith = error;
      this.wake();
    });
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Everything received and not consumed yet. */
  get pending(): string {
    return this.buffer;
  }

  async send(command: string, terminator = "\r\n"): Promise<string[]> {
    await this.transport.write(command + terminator);
    return this.readResponse();
  }

  async readResponse(): Promise<string[]> {
    await this.until(() => finalLine.test(this.buffer));
    const lines = splitLines(this.buffer);
    this.buffer = "";
    return lines;
  }

  /** Waits until `condition` holds on received data, or the link closes (then throws). */
  async until(condition: () => boolean): Promise<void> {
    while (!condition()) {
      if (this.closedWith !== null)
        throw new Error(`link closed: ${this.closedWith?.message ?? "normally"}`);
      await new Promise<void>((resolve) => this.waiters.add(resolve));
    }
  }
}
