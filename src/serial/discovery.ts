import {
  type DiscoveredBoard,
  findBoardBySerial,
  matchBoards,
  type OtherUsbDevice,
} from "./boards.js";
import { SerialError } from "./errors.js";
import { systemPortLister } from "./port-list.js";
import type { PortLister, PortRecord } from "./port-record.js";

export interface BoardListing {
  boards: DiscoveredBoard[];
  /** Recognised non-nRF91 devices (other Nordic kits, plain J-Links); empty unless `all`. */
  others: OtherUsbDevice[];
  /** Every port the lister returned. */
  ports: PortRecord[];
}

export async function listBoards(
  options: { all?: boolean | undefined; lister?: PortLister | undefined } = {},
): Promise<BoardListing> {
  const ports = await (options.lister ?? systemPortLister())();
  const { boards, others } = matchBoards(ports);
  return { boards, others: options.all ? others : [], ports };
}

const describeBoard = (board: DiscoveredBoard) =>
  `${board.model} ${board.serialNumber} (AT port ${board.atPort})`;

/**
 * The port to open: an explicit path is returned as given (the transport resolves links);
 * `auto` is the AT port of the only attached nRF91 board (or of the board with
 * `serialNumber`). Zero or several candidates are an error listing what was found.
 */
export async function resolvePort(
  port: string,
  options: { lister?: PortLister; serialNumber?: string } = {},
): Promise<string> {
  if (port !== "auto") return port;
  const { boards, others } = await listBoards({ all: true, lister: options.lister });
  const wanted = options.serialNumber;
  const candidates =
    wanted === undefined
      ? boards
      : [findBoardBySerial(boards, wanted)].filter((b) => b !== undefined);
  const only = candidates[0];
  if (candidates.length === 1 && only) return only.atPort;
  const details = {
    candidates: boards.map(describeBoard),
    others: others.map((o) => `${o.model} ${o.serialNumber}`),
  };
  if (candidates.length === 0) {
    const seen = [
      ...(wanted === undefined ? [] : boards.map(describeBoard)),
      ...others.map((other) => `${other.model} ${other.serialNumber} (not an nRF91 board)`),
    ];
    const which =
      wanted === undefined ? "no nRF91 board found" : `no nRF91 board with serial number ${wanted}`;
    throw new SerialError(
      "ERR_PORT_NOT_FOUND",
      `${which}${seen.length ? `; seen: ${seen.join(", ")}` : ""}: connect the board, or pass --port <path>`,
      { details },
    );
  }
  throw new SerialError(
    "ERR_PORT_AMBIGUOUS",
    `${candidates.length} nRF91 boards attached: ${candidates.map(describeBoard).join(", ")}; ` +
      "pick one with --port <path> or --serial-number",
    { details },
  );
}
