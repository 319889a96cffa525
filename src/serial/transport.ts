import { SerialError } from "./errors.js";

/**
 * The byte-stream seam between the AT layer and whatever carries the bytes: a real serial
 * port, a pseudo-terminal, an in-memory pair in tests, or any Node duplex stream.
 */
export interface ByteTransport {
  /** Human-readable name used in error messages, e.g. `/dev/ttyACM0` or `memory:host`. */
  readonly name: string;
  /** False once the transport has closed (by us, by the peer, or by unplugging). */
  readonly isOpen: boolean;
  /** Writes bytes; resolves when handed to the OS (or the peer). Rejects when closed. */
  write(data: Uint8Array | string): Promise<void>;
  /** Subscribes to incoming bytes. Returns an unsubscribe function. */
  onData(listener: (chunk: Uint8Array) => void): () => void;
  /**
   * Subscribes to the end of the link. `error` is set when it ended abnormally
   * (board unplugged, peer dropped the link). Fires at most once.
   */
  onClose(listener: (error?: Error) => void): () => void;
  /** Closes the link. Idempotent. */
  close(): Promise<void>;
}

/**
 * The listener bookkeeping every ByteTransport shares: data and close listeners, and the
 * open → closed transition, which happens once and tells each close listener once.
 */
export class TransportEvents {
  private readonly dataListeners = new Set<(chunk: Uint8Array) => void>();
  private readonly closeListeners = new Set<(error?: Error) => void>();
  private open = true;

  get isOpen(): boolean {
    return this.open;
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    this.dataListeners.add(listener);
    return () => this.dataListeners.delete(listener);
  }

  onClose(listener: (error?: Error) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Hands received bytes to the data listeners (none once closed). */
  emitData(chunk: Uint8Array): void {
    if (!this.open) return;
    for (const listener of this.dataListeners) listener(chunk);
  }

  /** Marks the link closed and notifies the close listeners; false if it already was. */
  end(error?: Error): boolean {
    if (!this.open) return false;
    this.open = false;
    const listeners = [...this.closeListeners];
    this.closeListeners.clear();
    this.dataListeners.clear();
    for (const listener of listeners) listener(error);
    return true;
  }
}

/** The rejection of a write to a closed transport. */
export function writeToClosedError(name: string): SerialError {
  return new SerialError("ERR_TRANSPORT_CLOSED", `cannot write to ${name}: it is closed`, {
    details: { port: name },
  });
}
