import {
  normalizeUsbId,
  type PortRecord,
  sameSerialNumber,
  usbInterfaceNumber,
} from "./port-record.js";

export type Nrf91BoardId =
  | "nrf9160dk"
  | "nrf9161dk"
  | "nrf9151dk"
  | "nrf9131ek"
  | "thingy91"
  | "thingy91x";

/** An attached nRF91 board and the port that carries its AT interface. */
export interface DiscoveredBoard {
  model: string;
  boardId: Nrf91BoardId;
  serialNumber: string;
  atPort: string;
  /** All of the board's serial ports, lowest USB interface first (`atPort` is the first). */
  ports: string[];
  vendorId: string;
  productId: string;
}

/** A USB serial device that is recognised but is not an nRF91 board (shown with `--all`). */
export interface OtherUsbDevice {
  model: string;
  serialNumber: string;
  ports: string[];
  vendorId: string;
  productId: string;
}

interface BoardPattern {
  model: string;
  /** Set for nRF91 boards; other kits are recognised only to be skipped. */
  boardId?: Nrf91BoardId;
  vendorId?: string;
  /** Only the Thingy bridges have fixed PIDs; J-Link OB PIDs vary (boards.md §2). */
  productId?: string;
  serialPrefixes: string[];
}

const SEGGER = "1366";
const NORDIC = "1915";

/** boards.md §1 (nRF91 boards) and the other kits nrfcredstore knows. */
const patterns: BoardPattern[] = [
  { model: "nRF9160 DK", boardId: "nrf9160dk", vendorId: SEGGER, serialPrefixes: ["0009600"] },
  { model: "nRF9161 DK", boardId: "nrf9161dk", vendorId: SEGGER, serialPrefixes: ["0010509"] },
  {
    model: "nRF9151 DK",
    boardId: "nrf9151dk",
    vendorId: SEGGER,
    serialPrefixes: ["0010512", "0010520"],
  },
  { model: "nRF9131 EK", boardId: "nrf9131ek", vendorId: SEGGER, serialPrefixes: ["0010510"] },
  {
    model: "Thingy:91",
    boardId: "thingy91",
    vendorId: NORDIC,
    productId: "9100",
    serialPrefixes: ["THINGY91_", "PCA20035"],
  },
  {
    model: "Thingy:91 X",
    boardId: "thingy91x",
    vendorId: NORDIC,
    productId: "910a",
    serialPrefixes: ["THINGY91X_"],
  },
  // SEGGER-style Thingy:91 X serials from nrfcredstore; their VID/PID are unconfirmed.
  {
    model: "Thingy:91 X",
    boardId: "thingy91x",
    vendorId: SEGGER,
    serialPrefixes: ["0010550", "0010551", "0010513"],
  },
  { model: "nRF5340 DK", vendorId: SEGGER, serialPrefixes: ["0009601", "0010500"] },
  { model: "nRF7002 DK", vendorId: SEGGER, serialPrefixes: ["0010507"] },
  { model: "nRF54H20 DK", vendorId: SEGGER, serialPrefixes: ["0010511"] },
  { model: "nRF54L15 DK", vendorId: SEGGER, serialPrefixes: ["0010577"] },
  { model: "nRF Cloud Gateway", serialPrefixes: ["NRFBLEGW"] },
  { model: "Unknown Nordic kit", vendorId: SEGGER, serialPrefixes: ["00105"] },
];

/** Every (prefix, pattern) pair, most specific prefix first, so `00105` is tried last. */
const prefixRules = patterns
  .flatMap((pattern) => pattern.serialPrefixes.map((prefix) => ({ prefix, pattern })))
  .sort((a, b) => b.prefix.length - a.prefix.length);

function identify(serialNumber: string, vendorId: string, productId: string) {
  const serial = serialNumber.toUpperCase();
  const rule = prefixRules.find(
    ({ prefix, pattern }) =>
      serial.startsWith(prefix.toUpperCase()) &&
      (pattern.vendorId === undefined || pattern.vendorId === vendorId) &&
      (pattern.productId === undefined || pattern.productId === productId),
  );
  if (rule) return rule.pattern;
  // Any other SEGGER device is a plain J-Link probe, not a Nordic board.
  return vendorId === SEGGER ? { model: "SEGGER J-Link" } : undefined;
}

const byPath = (a: PortRecord, b: PortRecord) =>
  a.path.localeCompare(b.path, "en", { numeric: true });

/** Lowest USB interface first; by path where no interface numbers are known (macOS). */
function sortByInterface(ports: PortRecord[]): PortRecord[] {
  const numbered = ports.map((port) => ({ port, number: usbInterfaceNumber(port) }));
  if (numbered.some(({ number }) => number === undefined)) return [...ports].sort(byPath);
  return numbered
    .sort((a, b) => (a.number ?? 0) - (b.number ?? 0) || byPath(a.port, b.port))
    .map(({ port }) => port);
}

/** macOS lists each port as `/dev/tty.X` and `/dev/cu.X`; only `cu.*` is usable without carrier. */
function dropMacDialIn(ports: PortRecord[]): PortRecord[] {
  const paths = new Set(ports.map((port) => port.path));
  return ports.filter(
    (port) =>
      !(port.path.startsWith("/dev/tty.") && paths.has(port.path.replace("/dev/tty.", "/dev/cu."))),
  );
}

/**
 * Groups ports by USB serial number and identifies each group (boards.md §2): DKs by serial
 * prefix + SEGGER VID (never PID), Thingies by VID/PID + prefix; the AT port is the lowest
 * interface. Ports without USB data are ignored. Pure.
 */
export function matchBoards(ports: PortRecord[]): {
  boards: DiscoveredBoard[];
  others: OtherUsbDevice[];
} {
  const groups = new Map<string, PortRecord[]>();
  for (const port of ports) {
    const serial = port.serialNumber?.trim();
    if (!serial || normalizeUsbId(port.vendorId) === undefined) continue;
    const key = serial.toUpperCase();
    groups.set(key, [...(groups.get(key) ?? []), port]);
  }
  const boards: DiscoveredBoard[] = [];
  const others: OtherUsbDevice[] = [];
  for (const group of groups.values()) {
    const first = group[0]!;
    const serialNumber = first.serialNumber!.trim();
    const vendorId = normalizeUsbId(first.vendorId)!;
    const productId = normalizeUsbId(first.productId) ?? "";
    const kind = identify(serialNumber, vendorId, productId);
    if (!kind) continue;
    const paths = sortByInterface(dropMacDialIn(group)).map((port) => port.path);
    const found = { model: kind.model, serialNumber, ports: paths, vendorId, productId };
    if ("boardId" in kind && kind.boardId) {
      boards.push({ ...found, boardId: kind.boardId, atPort: paths[0]! });
    } else {
      others.push(found);
    }
  }
  const bySerial = (a: { serialNumber: string }, b: { serialNumber: string }) =>
    a.serialNumber.localeCompare(b.serialNumber);
  return { boards: boards.sort(bySerial), others: others.sort(bySerial) };
}

/** The board with this USB serial number (all-digit serials compare numerically). */
export function findBoardBySerial(
  boards: DiscoveredBoard[],
  serialNumber: string,
): DiscoveredBoard | undefined {
  return boards.find((board) => sameSerialNumber(board.serialNumber, serialNumber));
}
