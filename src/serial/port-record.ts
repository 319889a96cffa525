/**
 * One serial port as the OS lists it: the shape of serialport's `SerialPort.list()` entries
 * (every field but `path` may be missing), plus the USB interface number when the lister
 * read it directly (sysfs fallback).
 */
export interface PortRecord {
  path: string;
  manufacturer?: string | undefined;
  serialNumber?: string | undefined;
  pnpId?: string | undefined;
  locationId?: string | undefined;
  vendorId?: string | undefined;
  productId?: string | undefined;
  interfaceNumber?: number | undefined;
}

/** Enumerates serial ports; injected so tests and containers without udev can list ports. */
export type PortLister = () => Promise<PortRecord[]>;

/** USB VID/PID as 4-digit lowercase hex without `0x` (Windows reports uppercase). */
export function normalizeUsbId(id: string | undefined): string | undefined {
  const hex = id?.trim().toLowerCase().replace(/^0x/, "");
  return hex && /^[0-9a-f]{1,4}$/.test(hex) ? hex.padStart(4, "0") : undefined;
}

/**
 * The USB interface number of a port: read directly, or from the Linux by-id name
 * (`…-if01`), the Windows instance ID (`MI_01`), or a pyserial-style location (`…:1.1`,
 * `x.1`). macOS gives none: callers sort by path there (boards.md §3).
 */
export function usbInterfaceNumber(port: PortRecord): number | undefined {
  if (port.interfaceNumber !== undefined) return port.interfaceNumber;
  const pnpId = port.pnpId ?? "";
  const fromPnp = /-if([0-9a-f]{2})(?:-port\d+)?$/i.exec(pnpId) ?? /MI_([0-9a-f]{2})/i.exec(pnpId);
  if (fromPnp?.[1]) return Number.parseInt(fromPnp[1], 16);
  const fromLocation = /:(?:\d+|x)\.(\d+)$/.exec(port.locationId ?? "");
  return fromLocation?.[1] ? Number(fromLocation[1]) : undefined;
}

/**
 * Whether two USB serial numbers name the same board. All-digit serials compare as numbers:
 * J-Link tools and pyserial users drop leading zeros (`001051202135` = `1051202135`).
 */
export function sameSerialNumber(a: string, b: string): boolean {
  const x = a.trim();
  const y = b.trim();
  if (/^\d+$/.test(x) && /^\d+$/.test(y)) return BigInt(x) === BigInt(y);
  return x.toUpperCase() === y.toUpperCase();
}
