import { mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

export interface FakeUsbSerial {
  tty: string;
  /** USB bus path of the device, e.g. `3-12.1`. */
  busPath: string;
  interfaceNumber: number;
  vendorId: string;
  productId: string;
  serial?: string;
  manufacturer?: string;
  /** `/dev/serial/by-id` name, as udev would create it. */
  byId?: string;
  /** USB-serial converters (ttyUSB) put one more directory between interface and tty. */
  nested?: boolean;
}

async function link(target: string, path: string): Promise<void> {
  await symlink(relative(join(path, ".."), target), path);
}

/**
 * Builds a sysfs tree shaped like Linux's under a temporary root: `/sys/class/tty/<tty>`
 * links into `/sys/devices/…`, `device` links to the USB interface, and the USB device
 * directory above it holds idVendor/idProduct/serial. Plus a virtual tty and a
 * platform UART without USB data.
 */
export async function makeFakeSysfs(devices: FakeUsbSerial[]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "nrf-sysfs-"));
  const classDir = join(root, "sys/class/tty");
  await mkdir(classDir, { recursive: true });
  await mkdir(join(root, "dev/serial/by-id"), { recursive: true });
  const usbRoot = join(root, "sys/devices/pci0000:00/0000:00:14.0/usb3");
  for (const device of devices) {
    const usbDevice = join(usbRoot, device.busPath);
    const usbInterface = join(usbDevice, `${device.busPath}:1.${device.interfaceNumber}`);
    const parent = device.nested ? join(usbInterface, device.tty) : usbInterface;
    const ttyDir = join(parent, "tty", device.tty);
    await mkdir(ttyDir, { recursive: true });
    await writeFile(join(usbDevice, "idVendor"), `${device.vendorId}\n`);
    await writeFile(join(usbDevice, "idProduct"), `${device.productId}\n`);
    if (device.serial) await writeFile(join(usbDevice, "serial"), `${device.serial}\n`);
    if (device.manufacturer)
      await writeFile(join(usbDevice, "manufacturer"), `${device.manufacturer}\n`);
    await writeFile(
      join(usbInterface, "bInterfaceNumber"),
      `${device.interfaceNumber.toString(16).padStart(2, "0")}\n`,
    );
    await link(parent, join(ttyDir, "device"));
    await link(ttyDir, join(classDir, device.tty));
    if (device.byId)
      await symlink(`../../${device.tty}`, join(root, "dev/serial/by-id", device.byId));
  }
  const virtualTty = join(root, "sys/devices/virtual/tty/tty0");
  await mkdir(virtualTty, { recursive: true });
  await link(virtualTty, join(classDir, "tty0"));
  const uart = join(root, "sys/devices/platform/serial8250");
  const uartTty = join(uart, "tty/ttyS0");
  await mkdir(uartTty, { recursive: true });
  await link(uart, join(uartTty, "device"));
  await link(uartTty, join(classDir, "ttyS0"));
  return root;
}

/** Two boards as they appear on a Linux host: an nRF9160 DK (3 VCOMs) and a Thingy:91 X. */
export const twoBoards: FakeUsbSerial[] = [
  {
    tty: "ttyACM0",
    busPath: "3-12.1",
    interfaceNumber: 4,
    vendorId: "1366",
    productId: "1015",
    serial: "000960035658",
    manufacturer: "SEGGER",
    byId: "usb-SEGGER_J-Link_000960035658-if04",
  },
  {
    tty: "ttyACM1",
    busPath: "3-12.1",
    interfaceNumber: 0,
    vendorId: "1366",
    productId: "1015",
    serial: "000960035658",
    manufacturer: "SEGGER",
    byId: "usb-SEGGER_J-Link_000960035658-if00",
  },
  {
    tty: "ttyACM2",
    busPath: "3-12.1",
    interfaceNumber: 2,
    vendorId: "1366",
    productId: "1015",
    serial: "000960035658",
    manufacturer: "SEGGER",
  },
  {
    tty: "ttyACM3",
    busPath: "3-12.2",
    interfaceNumber: 1,
    vendorId: "1915",
    productId: "910a",
    serial: "THINGY91X_F39CC1B120C",
    manufacturer: "Nordic Semiconductor",
  },
  {
    tty: "ttyACM4",
    busPath: "3-12.2",
    interfaceNumber: 4,
    vendorId: "1915",
    productId: "910a",
    serial: "THINGY91X_F39CC1B120C",
    manufacturer: "Nordic Semiconductor",
  },
];
