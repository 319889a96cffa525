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
