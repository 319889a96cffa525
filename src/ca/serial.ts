import { randomBytes } from "node:crypto";

const SERIAL_BYTES = 16;
/** Serials drawn per randomBytes() call: one CSPRNG call per batch instead of one per certificate. */
const POOL_SERIALS = 256;

/**
 * Random positive certificate serials: 16 CSPRNG bytes, top bit clear (positive) and the
 * second-highest set (no leading zero byte, so the INTEGER is always 16 bytes). Each
 * generator owns its pool; nothing is shared between CAs or threads.
 */
export class SerialNumbers {
  #pool: Buffer = Buffer.alloc(0);
  #offset = 0;

  next(): Uint8Array {
    if (this.#offset + SERIAL_BYTES > this.#pool.length) {
      this.#pool = randomBytes(SERIAL_BYTES * POOL_SERIALS);
      this.#offset = 0;
    }
    const serial = this.#pool.subarray(this.#offset, this.#offset + SERIAL_BYTES);
    this.#offset += SERIAL_BYTES;
    serial[0] = (serial[0]! & 0x7f) | 0x40;
    return serial;
  }
}
