// Transports (serial port, pseudo-terminal, in-memory, any duplex) and board discovery.

export { createMemoryTransportPair, type MemoryTransport } from "./memory.js";
export { openSerialTransport, type SerialTransportOptions } from "./serialport-transport.js";
export { fromDuplex } from "./stream-transport.js";
export type { ByteTransport } from "./transport.js";
