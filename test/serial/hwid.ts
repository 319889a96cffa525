import type { PortRecord } from "../../src/serial/index.js";
import { readVector } from "../vectors.js";

/**
 * Turns a pyserial `hwid` string into the port record serialport would give: VID/PID,
 * serial number and LOCATION (whose `:1.N` / `x.N` tail is the USB interface).
 */
export function portFromPyserialHwid(hwid: string, path: string): PortRecord {
  const usb = /^USB VID:PID=([0-9A-F]{4}):([0-9A-F]{4})(?: SER=(\S+))?(?: LOCATION=(\S+))?/i.exec(
    hwid,
  );
  if (!usb) return hwid === "n/a" ? { path } : { path, pnpId: hwid };
  return { path, vendorId: usb[1], productId: usb[2], serialNumber: usb[3], locationId: usb[4] };
}

/** The `(hwid, device)` pairs of `usb_port_hwid_examples.txt`, source escapes undone. */
export function readHwidPairs(): PortRecord[] {
  return readVector("usb_port_hwid_examples.txt")
    .split("\n")
    .filter((line) => line.includes("\t"))
    .map((line) => {
      const [hwid = "", path = ""] = line.replace(/\\\\/g, "\\").split("\t");
      return portFromPyserialHwid(hwid, path);
    });
}

/** The three HWID strings quoted in nrfcredstore's comms.py comment (no device paths). */
export function readHwidComments(): Array<{ os: string; hwid: string }> {
  const text = readVector("usb_port_hwid_examples.txt");
  return [...text.matchAll(/'(USB VID:PID=[^']+)'/g)].map((match) => ({
    os: text.slice(text.lastIndexOf("\n", match.index) + 1).split(":")[0] ?? "",
    hwid: match[1] ?? "",
  }));
}
