import { SerialError } from "./errors.js";
import { type ByteTransport, TransportEvents, writeToClosedError } from "./transport.js";

/** An in-memory link whose far end can be dropped, as if the USB cable were pulled. */
export interface MemoryTransport extends ByteTransport {
  /** Ends the link on both sides with an error, like an unplugged board. */
  disconnect(reason?: string): void;
}

class MemoryEnd implements MemoryTransport {
  peer: MemoryEnd | undefined;
  private readonly events = new TransportEvents();

  constructor(readonly name: string) {}

  get isOpen(): boolean {
    return this.events.isOpen;
  }

  write(data: Uint8Array | string): Promise<void> {
    if (!this.isOpen) return Promise.reject(writeToClosedError(this.name));
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : Uint8Array.from(data);
    const peer = this.peer;
    // Deliver asynchronously, as a real link would: never re-enter the writer's call stack.
    setImmediate(() => peer?.events.emitData(bytes));
    return Promise.resolve();
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    return this.events.onData(listener);
  }

  onClose(listener: (error?: Error) => void): () => void {
    return this.events.onClose(listener);
  }

  end(error?: Error): void {
    this.events.end(error);
  }

  close(): Promise<void> {
    this.end();
    this.peer?.end();
    return Promise.resolve();
  }

  disconnect(reason = "link dropped"): void {
    const error = (side: string) =>
      new SerialError("ERR_TRANSPORT_DISCONNECTED", `${side} disconnected: ${reason}`, {
        details: { port: side },
      });
    this.end(error(this.name));
    this.peer?.end(error(this.peer.name));
  }
}

/**
 * Two connected in-memory transports: bytes written to one arrive at the other.
 * Closing either end closes both (the other end sees a normal close).
 */
export function createMemoryTransportPair(
  names: [string, string] = ["memory:host", "memory:device"],
): [MemoryTransport, MemoryTransport] {
  const a = new MemoryEnd(names[0]);
  const b = new MemoryEnd(names[1]);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
