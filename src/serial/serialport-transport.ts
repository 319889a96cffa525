import { realpath } from "node:fs/promises";
import { SerialPort } from "serialport";
import { NrfProvisionError } from "../errors/index.js";
import { StreamTransport } from "./stream-transport.js";
import type { ByteTransport } from "./transport.js";

export interface SerialTransportOptions {
  /** Default 115200 (every nRF91 board, nrf91-at.md §1). */
  baudRate?: number;
  /** RTS/CTS hardware flow control. Default true, like nrfcredstore. */
  rtscts?: boolean;
}

type OpenFailure = "not-found" | "permission" | "in-use" | "other";

function classifyOpenFailure(error: unknown): OpenFailure {
  const text = `${(error as { code?: string }).code ?? ""} ${(error as Error).message ?? error}`;
  if (/Cannot lock port|Resource temporarily unavailable|EBUSY|Access denied/i.test(text)) {
    // Windows reports a port held by another program as "Access denied".
    return "in-use";
  }
  if (/ENOENT|No such file|File not found|cannot find/i.test(text)) return "not-found";
  if (/EACCES|EPERM|Permission denied/i.test(text)) return "permission";
  return "other";
}

const advice: Record<OpenFailure, string> = {
  "not-found": "check the USB cable, and list attached boards with `nrf-provision ports`",
  permission:
    "add your user to the dialout group (`sudo usermod -aG dialout $USER`, then log in again) " +
    "or install the udev rule from hw/README.md",
  "in-use":
    "another program holds the port (serial terminal, nRF Connect, another nrf-provision): " +
    "close it and retry",
  other: "check the port name with `nrf-provision ports`",
};

/** The ERR_PORT_OPEN error for a failed open, with what to do about it. */
export function portOpenError(path: string, error: unknown): NrfProvisionError {
  const reason = classifyOpenFailure(error);
  const message = error instanceof Error ? error.message : String(error);
  return new NrfProvisionError(
    "ERR_PORT_OPEN",
    `cannot open ${path} (${message}): ${advice[reason]}`,
    {
      cause: error,
      details: { port: path, reason },
    },
  );
}

/**
 * Opens a real serial port (or pseudo-terminal) as a ByteTransport: 8N1, exclusive lock,
 * DTR asserted (J-Link OB VCOMs pass data only while DTR is set, boards.md §5).
 * `/dev/serial/by-id/…` links are resolved first so the lock applies to the real device.
 */
export async function openSerialTransport(
  path: string,
  options: SerialTransportOptions = {},
): Promise<ByteTransport> {
  // Windows COM names are not files; everything else may be a symlink.
  const device = path.startsWith("/")
    ? await realpath(path).catch((error) => {
        throw portOpenError(path, error);
      })
    : path;
  const port = new SerialPort({
    path: device,
    baudRate: options.baudRate ?? 115200,
    dataBits: 8,
    parity: "none",
    stopBits: 1,
    rtscts: options.rtscts ?? true,
    lock: true,
    autoOpen: false,
  });
  await new Promise<void>((resolve, reject) =>
    port.open((error) => (error ? reject(error) : resolve())),
  ).catch((error) => {
    throw portOpenError(path, error);
  });
  // serialport sets every line on each call (rts defaults to true); with rtscts the driver
  // then drives RTS itself. Pseudo-terminals reject these ioctls: that is harmless.
  await new Promise<void>((resolve) => port.set({ dtr: true, rts: true }, () => resolve()));
  return new StreamTransport(port, path, async () => {
    if (!port.isOpen) return;
    await new Promise<void>((resolve) => port.close(() => resolve()));
  });
}
