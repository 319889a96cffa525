import type { Duplex } from "node:stream";
import { SerialError } from "./errors.js";
import { type ByteTransport, TransportEvents, writeToClosedError } from "./transport.js";

/**
 * A ByteTransport over a Node duplex stream. Any end of the stream that we did not ask
 * for (peer closed, read error, unplugged serial port) is reported as a disconnect.
 */
export class StreamTransport implements ByteTransport {
  private readonly events = new TransportEvents();
  private closeRequested = false;
  private lastError: Error | undefined;

  constructor(
    private readonly stream: Duplex,
    readonly name: string,
    /** Releases the underlying resource; resolves once it is released. */
    private readonly release: () => Promise<void>,
  ) {
    stream.on("data", (chunk: Buffer) => this.events.emitData(chunk));
    // Remember errors: the `close` that follows says *that* the link ended, this says why.
    stream.on("error", (error: Error) => {
      this.lastError = error;
      if (!stream.destroyed && !this.closeRequested) void this.release().catch(() => {});
    });
    // serialport passes a DisconnectedError (`err.disconnected`); net sockets pass a boolean.
    stream.on("close", (cause?: unknown) => this.end(cause instanceof Error ? cause : undefined));
    // The readable side ending (EOF from the peer) means no answers can arrive any more.
    stream.on("end", () => {
      this.end(undefined);
      void this.release().catch(() => {});
    });
  }

  get isOpen(): boolean {
    return this.events.isOpen;
  }

  write(data: Uint8Array | string): Promise<void> {
    if (!this.isOpen) return Promise.reject(writeToClosedError(this.name));
    return new Promise((resolve, reject) => {
      this.stream.write(data, (error) => {
        if (!error) return resolve();
        reject(
          new SerialError(
            "ERR_TRANSPORT_WRITE",
            `writing to ${this.name} failed: ${error.message}`,
            {
              cause: error,
              details: { port: this.name },
            },
          ),
        );
      });
    });
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    return this.events.onData(listener);
  }

  onClose(listener: (error?: Error) => void): () => void {
    return this.events.onClose(listener);
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.closeRequested = true;
    await this.release();
    this.end(undefined);
  }

  private end(cause: Error | undefined): void {
    if (!this.isOpen) return;
    const reason = cause ?? this.lastError;
    this.events.end(
      this.closeRequested
        ? undefined
        : new SerialError(
            "ERR_TRANSPORT_DISCONNECTED",
            `${this.name} disconnected${reason ? ` (${reason.message})` : ""}: ` +
              "check the USB cable and that the board is powered, then retry",
            { cause: reason, details: { port: this.name } },
          ),
    );
  }
}

/** Wraps any Node duplex (socket, child process stdio pair, …) as a ByteTransport. */
export function fromDuplex(stream: Duplex, name: string): ByteTransport {
  return new StreamTransport(stream, name, async () => {
    if (stream.destroyed) return;
    await new Promise<void>((resolve) => {
      stream.once("close", () => resolve());
      stream.destroy();
    });
  });
}
