// Transports (serial port, pseudo-terminal, in-memory, any duplex) and board discovery.

export {
  type DiscoveredBoard,
  findBoardBySerial,
  matchBoards,
  type Nrf91BoardId,
  type OtherUsbDevice,
} from "./boards.js";
export { type BoardListing, listBoards, resolvePort } from "./discovery.js";
export { SerialError, type SerialErrorCode } from "./errors.js";
export { createMemoryTransportPair, type MemoryTransport } from "./memory.js";
export { listPortsFromSysfs, portListerFromEnv, systemPortLister } from "./port-list.js";
export {
  normalizeUsbId,
  type PortLister,
  type PortRecord,
  sameSerialNumber,
  usbInterfaceNumber,
} from "./port-record.js";
export { openSerialTransport, type SerialTransportOptions } from "./serialport-transport.js";
export { fromDuplex } from "./stream-transport.js";
export type { ByteTransport } from "./transport.js";
