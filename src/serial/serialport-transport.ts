import { read } from "node:fs";
import { realpath } from "node:fs/promises";
import { createRequire } from "node:module";
import { promisify } from "node:util";
// @serialport/bindings-interface's types, through bindings-cpp: the interface package's "exports"
// name its typings only for `require`.
import type {
  BindingInterface,
  BindingPortInterface,
  OpenOptions,
  PortInfo,
  SetOptions,
  UpdateOptions,
} from "@serialport/bindings-cpp";
import { SerialError } from "./errors.js";
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

const what: Record<Exclude<OpenFailure, "other">, string> = {
  "not-found": "no such port",
  permission: "permission denied",
  "in-use": "the port is in use",
};

/**
 * The ERR_PORT_OPEN error for a failed open: what happened in words (not the system call that
 * failed) and, once, what to do about it (also in `details.advice`).
 */
export function portOpenError(path: string, error: unknown): SerialError {
  const reason = classifyOpenFailure(error);
  const errno = (error as { code?: unknown }).code;
  const happened =
    reason === "other" ? (error instanceof Error ? error.message : String(error)) : what[reason];
  const code = typeof errno === "string" && reason !== "other" ? ` (${errno})` : "";
  return new SerialError(
    "ERR_PORT_OPEN",
    `cannot open ${path}: ${happened}${code}. Next: ${advice[reason]}`,
    {
      cause: error,
      details: { port: path, reason, advice: advice[reason] },
    },
  );
}

const readAsync = promisify(read);

/**
 * The public face of serialport's Unix port bindings (`LinuxPortBinding`, `DarwinPortBinding` in
 * @serialport/bindings-cpp declare `fd` and `poller` public): what a read of its own needs.
 */
interface UnixPort extends BindingPortInterface {
  fd: number | null;
  readonly poller: { once(event: "readable", callback: (error: Error | null) => void): unknown };
}

function isUnixPort(port: BindingPortInterface): port is UnixPort {
  const candidate = port as Partial<UnixPort>;
  return typeof candidate.fd === "number" && typeof candidate.poller?.once === "function";
}

/** Like bindings-cpp's `BindingsError` with `canceled`: serialport ignores it (closed on purpose). */
const canceled = () => Object.assign(new Error("Port is not open"), { canceled: true });

/**
 * serialport's Unix read loop retries a zero-byte read forever (serialport/bindings-cpp#162,
 * fix proposed in serialport/bindings-cpp#164, not released in 13.0.0). A tty opened with VMIN=1
 * and O_NONBLOCK reads 0 bytes only once it is hung up (USB device unplugged, or the PTY master
 * closed: the kernel swaps in `hung_up_tty_fops`, whose read returns 0). A read issued after the
 * hang-up (the poll woke on POLLHUP a moment before the kernel finished it, or the stream was not
 * reading yet) then spins on the thread pool and the disconnect is never reported: an unplugged
 * board would hang its client. This read does the same EAGAIN/poll dance but turns 0 bytes into
 * an error, which serialport's stream reports as a disconnect (`close` with a DisconnectedError).
 */
async function readReportingHangUp(
  port: UnixPort,
  buffer: Buffer,
  offset: number,
  length: number,
): Promise<{ bytesRead: number; buffer: Buffer }> {
  for (;;) {
    if (port.fd === null) throw canceled();
    try {
      const { bytesRead } = await readAsync(port.fd, buffer, offset, length, null);
      if (bytesRead > 0) return { bytesRead, buffer };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EAGAIN" && code !== "EWOULDBLOCK" && code !== "EINTR") throw error;
      if (port.fd === null) throw canceled();
      await new Promise<void>((resolve, reject) =>
        port.poller.once("readable", (pollError) => (pollError ? reject(pollError) : resolve())),
      );
      continue;
    }
    throw Object.assign(new Error("the device hung up (read end of file)"), { code: "EIO" });
  }
}

/** A port of the real binding whose reads report a hang-up; everything else passes through. */
class HangUpAwarePort implements BindingPortInterface {
  constructor(private readonly port: BindingPortInterface) {}

  get isOpen(): boolean {
    return this.port.isOpen;
  }

  get openOptions(): Required<OpenOptions> {
    return this.port.openOptions;
  }

  read(buffer: Buffer, offset: number, length: number) {
    return isUnixPort(this.port)
      ? readReportingHangUp(this.port, buffer, offset, length)
      : this.port.read(buffer, offset, length);
  }

  close = () => this.port.close();
  write = (buffer: Buffer) => this.port.write(buffer);
  update = (options: UpdateOptions) => this.port.update(options);
  set = (options: SetOptions) => this.port.set(options);
  get = () => this.port.get();
  getBaudRate = () => this.port.getBaudRate();
  flush = () => this.port.flush();
  drain = () => this.port.drain();
}

/**
 * serialport's pattern for changing how ports behave: a binding of our own over the platform one
 * (`SerialPort.binding`), handed to a `SerialPortStream`. Its ports detect a hang-up on Unix.
 */
export class HangUpAwareBinding implements BindingInterface<HangUpAwarePort> {
  constructor(private readonly binding: BindingInterface) {}

  list(): Promise<PortInfo[]> {
    return this.binding.list();
  }

  async open(options: OpenOptions): Promise<HangUpAwarePort> {
    return new HangUpAwarePort(await this.binding.open(options));
  }
}

interface SerialportModules {
  SerialPort: typeof import("serialport").SerialPort;
  SerialPortStream: typeof import("@serialport/stream").SerialPortStream;
}

let serialportModules: Promise<SerialportModules> | undefined;

/**
 * serialport, its stream and its native binding, loaded when a port is first opened or listed:
 * importing them costs more than the rest of a short command, and most commands never open a
 * port. Required, not imported: serialport is CommonJS, and `import()` of it has Node scan every
 * module it re-exports for names, which took longer than loading them (issue 12).
 */
export function loadSerialport(): Promise<SerialportModules> {
  serialportModules ??= Promise.resolve().then(() => {
    const require = createRequire(import.meta.url);
    // Its SerialPort module alone: the package's index also loads ten stream parsers and a mock
    // binding, a third of its load time (serialport has no exports map; the version is pinned).
    const { SerialPort } = require("serialport/dist/serialport.js") as typeof import("serialport");
    const { SerialPortStream } =
      require("@serialport/stream") as typeof import("@serialport/stream");
    return { SerialPort, SerialPortStream };
  });
  return serialportModules;
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
  const { SerialPort, SerialPortStream } = await loadSerialport();
  const port = new SerialPortStream({
    binding: new HangUpAwareBinding(SerialPort.binding),
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
