import { readdir, readFile, readlink, realpath, stat } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { SerialError } from "./errors.js";
import type { PortLister, PortRecord } from "./port-record.js";
import { loadSerialport } from "./serialport-transport.js";

/** The tty names serialport lists on Linux (bindings-cpp `linux-list`). */
const SERIAL_TTY = /^(tty(S|WCH|ACM|USB|AMA|MFD|O|XRUSB)\d+|rfcomm\d+)$/;

async function readAttribute(dir: string, name: string): Promise<string | undefined> {
  return readFile(join(dir, name), "utf8").then(
    (text) => text.trim() || undefined,
    () => undefined,
  );
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** `/dev/serial/by-id` names by tty name: the same string udev gives serialport as `pnpId`. */
async function byIdNames(root: string): Promise<Map<string, string>> {
  const dir = join(root, "dev/serial/by-id");
  const names = await readdir(dir).catch(() => [] as string[]);
  const entries = await Promise.all(
    names.map(async (name) => {
      const target = await readlink(join(dir, name)).catch(() => undefined);
      return target ? ([basename(target), name] as const) : undefined;
    }),
  );
  return new Map(entries.filter((entry) => entry !== undefined));
}

/**
 * Walks up from a tty's device directory to its USB interface (`bInterfaceNumber`) and
 * the USB device above it (`idVendor`, `idProduct`, `serial`, `manufacturer`).
 */
async function usbAttributes(deviceDir: string, sysRoot: string): Promise<Partial<PortRecord>> {
  const found: Partial<PortRecord> = {};
  for (let dir = deviceDir; !relative(sysRoot, dir).startsWith(".."); dir = dirname(dir)) {
    if (found.interfaceNumber === undefined) {
      const number = await readAttribute(dir, "bInterfaceNumber");
      if (number !== undefined) found.interfaceNumber = Number.parseInt(number, 16);
    }
    const vendorId = await readAttribute(dir, "idVendor");
    if (vendorId !== undefined) {
      found.vendorId = vendorId;
      found.productId = await readAttribute(dir, "idProduct");
      found.serialNumber = await readAttribute(dir, "serial");
      found.manufacturer = await readAttribute(dir, "manufacturer");
      break;
    }
    if (dir === sysRoot) break;
  }
  return found;
}

/**
 * Lists serial ports from sysfs and `/dev/serial/by-id`, for systems where
 * `SerialPort.list()` fails (no `udevadm`: slim containers, CI). `root` is `/` normally,
 * a fake tree in tests. Paths are reported as `/dev/<name>`.
 */
export async function listPortsFromSysfs(root = "/"): Promise<PortRecord[]> {
  const sysRoot = await realpath(join(root, "sys")).catch(() => join(root, "sys"));
  const classDir = join(sysRoot, "class/tty");
  const names = (
    await readdir(classDir).catch((error: Error) => {
      throw new SerialError(
        "ERR_PORT_LIST",
        `cannot enumerate serial ports: ${error.message}; pass the port explicitly with --port`,
        { cause: error },
      );
    })
  ).filter((name) => SERIAL_TTY.test(name));
  const pnpIds = await byIdNames(root);
  const records: PortRecord[] = [];
  for (const name of names.sort()) {
    const deviceLink = join(classDir, name, "device");
    // Virtual terminals have no device behind them.
    if (!(await exists(deviceLink))) continue;
    const usb = await usbAttributes(await realpath(deviceLink), sysRoot);
    records.push({ path: `/dev/${name}`, pnpId: pnpIds.get(name), ...usb });
  }
  return records;
}

/**
 * The default lister: `SerialPort.list()`, falling back to sysfs when it fails (it rejects
 * with `spawn udevadm ENOENT` where udev is not installed).
 */
export function systemPortLister(
  options: { list?: () => Promise<PortRecord[]>; root?: string } = {},
): PortLister {
  const list = options.list ?? (async () => (await loadSerialport()).SerialPort.list());
  return async () => {
    try {
      return await list();
    } catch (listError) {
      try {
        return await listPortsFromSysfs(options.root);
      } catch (fallbackError) {
        throw new SerialError(
          "ERR_PORT_LIST",
          `cannot enumerate serial ports (${(listError as Error).message}; sysfs fallback: ` +
            `${(fallbackError as Error).message})`,
          { cause: listError },
        );
      }
    }
  };
}

/**
 * The lister the CLI uses: `NRF_PROVISION_SYSFS_ROOT` makes it read a sysfs tree at that
 * root only (containers with a mounted /sys, and tests); otherwise the system lister.
 */
export function portListerFromEnv(env: NodeJS.ProcessEnv): PortLister {
  const root = env.NRF_PROVISION_SYSFS_ROOT;
  return root ? () => listPortsFromSysfs(root) : systemPortLister();
}
