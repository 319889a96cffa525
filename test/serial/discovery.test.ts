import { describe, expect, it } from "vitest";
import {
  listBoards,
  listPortsFromSysfs,
  matchBoards,
  type PortRecord,
  resolvePort,
  systemPortLister,
} from "../../src/serial/index.js";
import { makeFakeSysfs, twoBoards } from "./fake-sysfs.js";
import { readHwidPairs } from "./hwid.js";

const udevMissing = () => Promise.reject(new Error("spawn udevadm ENOENT"));
const fixed = (ports: PortRecord[]) => () => Promise.resolve(ports);

describe("listPortsFromSysfs", () => {
  it("reads USB IDs, serial and interface number of each tty, and the by-id name", async () => {
    const root = await makeFakeSysfs(twoBoards);
    const ports = await listPortsFromSysfs(root);
    expect(ports.map((p) => p.path)).toEqual([
      "/dev/ttyACM0",
      "/dev/ttyACM1",
      "/dev/ttyACM2",
      "/dev/ttyACM3",
      "/dev/ttyACM4",
      "/dev/ttyS0",
    ]);
    expect(ports[1]).toEqual({
      path: "/dev/ttyACM1",
      pnpId: "usb-SEGGER_J-Link_000960035658-if00",
      interfaceNumber: 0,
      vendorId: "1366",
      productId: "1015",
      serialNumber: "000960035658",
      manufacturer: "SEGGER",
    });
    expect(ports[5]).toEqual({ path: "/dev/ttyS0", pnpId: undefined });
    expect(matchBoards(ports).boards.map((b) => [b.model, b.atPort, b.ports])).toEqual([
      ["nRF9160 DK", "/dev/ttyACM1", ["/dev/ttyACM1", "/dev/ttyACM2", "/dev/ttyACM0"]],
      ["Thingy:91 X", "/dev/ttyACM3", ["/dev/ttyACM3", "/dev/ttyACM4"]],
    ]);
  });

  it("finds the USB device above a USB-serial converter's extra directory", async () => {
    const root = await makeFakeSysfs([
      {
        tty: "ttyUSB0",
        busPath: "1-1",
        interfaceNumber: 0,
        vendorId: "0403",
        productId: "6001",
        serial: "A10K",
        nested: true,
      },
    ]);
    expect((await listPortsFromSysfs(root)).find((p) => p.path === "/dev/ttyUSB0")).toMatchObject({
      path: "/dev/ttyUSB0",
      vendorId: "0403",
      serialNumber: "A10K",
      interfaceNumber: 0,
    });
  });
});

describe("systemPortLister", () => {
  it("uses SerialPort.list() when it works", async () => {
    const listed = [{ path: "/dev/ttyACM9", vendorId: "1366" }];
    expect(await systemPortLister({ list: fixed(listed), root: "/nonexistent" })()).toEqual(listed);
  });

  it("falls back to sysfs when udevadm is missing", async () => {
    const root = await makeFakeSysfs(twoBoards);
    const ports = await systemPortLister({ list: udevMissing, root })();
    expect(ports).toHaveLength(6);
  });

  it("fails with advice when neither works", async () => {
    await expect(
      systemPortLister({ list: udevMissing, root: "/nonexistent" })(),
    ).rejects.toMatchObject({
      code: "ERR_PORT_LIST",
      message: expect.stringMatching(/udevadm ENOENT.*--port/),
    });
  });
});

describe("listBoards and resolvePort", () => {
  const linuxMulti = readHwidPairs().slice(7, 15);

  it("lists boards, and other devices only with all", async () => {
    const some = await listBoards({ lister: fixed(linuxMulti) });
    expect(some.boards.map((b) => b.model)).toEqual(["nRF9151 DK", "Thingy:91 X"]);
    expect(some.others).toEqual([]);
    expect(some.ports).toHaveLength(8);
    expect(
      (await listBoards({ all: true, lister: fixed(linuxMulti) })).others.map((o) => o.model),
    ).toEqual(["nRF7002 DK"]);
  });

  it("passes an explicit path through", async () => {
    expect(await resolvePort("/dev/serial/by-id/usb-x-if00", { lister: udevMissing })).toBe(
      "/dev/serial/by-id/usb-x-if00",
    );
  });

  it("auto: the AT port of the only board", async () => {
    const root = await makeFakeSysfs(twoBoards.slice(0, 3));
    expect(await resolvePort("auto", { lister: () => listPortsFromSysfs(root) })).toBe(
      "/dev/ttyACM1",
    );
  });

  it("auto: several boards is an error listing them, unless a serial number picks one", async () => {
    await expect(resolvePort("auto", { lister: fixed(linuxMulti) })).rejects.toMatchObject({
      code: "ERR_PORT_AMBIGUOUS",
      message: expect.stringMatching(
        /2 nRF91 boards.*nRF9151 DK 001051202135 \(AT port \/dev\/ttyACM2\).*Thingy:91 X THINGY91X_F39CC1B120C.*--port/,
      ),
      details: { candidates: expect.any(Array), others: ["nRF7002 DK 001050760093"] },
    });
    expect(
      await resolvePort("auto", { lister: fixed(linuxMulti), serialNumber: "1051202135" }),
    ).toBe("/dev/ttyACM2");
  });

  it("auto: no board is an error naming what was seen", async () => {
    const jlinkAnd7002 = readHwidPairs().slice(15, 18);
    await expect(resolvePort("auto", { lister: fixed(jlinkAnd7002) })).rejects.toMatchObject({
      code: "ERR_PORT_NOT_FOUND",
      message: expect.stringMatching(
        /no nRF91 board found; seen: SEGGER J-Link 000821001234 \(not an nRF91 board\)/,
      ),
    });
    await expect(
      resolvePort("auto", { lister: fixed(linuxMulti), serialNumber: "42" }),
    ).rejects.toMatchObject({
      code: "ERR_PORT_NOT_FOUND",
      message: expect.stringMatching(/serial number 42; seen: nRF9151 DK/),
    });
  });
});
