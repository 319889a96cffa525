// Transports (serial port, pseudo-terminal, in-memory, any duplex) and board discovery.

export { createMemoryTransportPair, type MemoryTransport } from "./memory.js";
export type { ByteTransport } from "./transport.js";
