import { describe, expect, it } from "vitest";
import {
  findBoardBySerial,
  matchBoards,
  normalizeUsbId,
  type PortRecord,
  usbInterfaceNumber,
} from "../../src/serial/index.js";
import { portFromPyserialHwid, readHwidComments, readHwidPairs } from "./hwid.js";

const pairs = readHwidPairs();
const mac = pairs.filter((port) => port.path.startsWith("/dev/cu."));
const windows = pairs.filter((port) => /^COM\d+$/.test(port.path));
const linux = pairs.filter((port) => port.path.startsWith("/dev/tty"));

describe("the hwid fixture", () => {
  it("holds every (hwid, device) pair, one OS each", () => {
    expect(pairs).toHaveLength(20);
    expect(mac.length + windows.length + linux.length).toBe(pairs.length);
    expect(windows[0]).toEqual({ path: "COM1", pnpId: "ACPI\\PNP0501\\1" });
  });
});

describe("matchBoards on the hwid fixture (boards.md §4)", () => {
  it("macOS: nRF9151 DK, main port …351 (sorted by path), debug and Bluetooth ports skipped", () => {
    expect(matchBoards(mac)).toEqual({
      boards: [
        {
          model: "nRF9151 DK",
          boardId: "nrf9151dk",
          serialNumber: "001051202135",
          atPort: "/dev/cu.usbmodem0010512021351",
          ports: ["/dev/cu.usbmodem0010512021351", "/dev/cu.usbmodem0010512021353"],
          vendorId: "1366",
          productId: "1069",
        },
      ],
      others: [],
    });
  });

  it("Windows: Thingy:91 X on COM35 (interface x.1 before x.4), COM1 skipped", () => {
    expect(matchBoards(windows)).toEqual({
      boards: [
        {
          model: "Thingy:91 X",
          boardId: "thingy91x",
          serialNumber: "THINGY91X_F39CC1B120C",
          atPort: "COM35",
          ports: ["COM35", "COM36"],
          vendorId: "1915",
          productId: "910a",
        },
      ],
      others: [],
    });
  });

  // The Linux lines are the union of nrfcredstore's fixture lists (linux_multi, linux_mixed,
  // linux_jlink_multi_com); each list is one machine.
  const [ttyS0, ttyS1, ...usb] = linux;
  const multi = [ttyS0!, ttyS1!, ...usb.slice(0, 6)];
  const mixed = [ttyS0!, ttyS1!, ...usb.slice(6, 9)];
  const jlinkMultiCom = [ttyS0!, ttyS1!, usb[6]!, ...usb.slice(9)];

  it("covers every Linux line with the three machines", () => {
    expect(new Set([...multi, ...mixed, ...jlinkMultiCom]).size).toBe(linux.length);
  });

  it("Linux: Thingy:91 X on ttyACM0, nRF9151 DK on ttyACM2, nRF7002 DK skipped", () => {
    const { boards, others } = matchBoards(multi);
    expect(boards.map((b) => [b.model, b.serialNumber, b.atPort, b.ports])).toEqual([
      ["nRF9151 DK", "001051202135", "/dev/ttyACM2", ["/dev/ttyACM2", "/dev/ttyACM3"]],
      ["Thingy:91 X", "THINGY91X_F39CC1B120C", "/dev/ttyACM0", ["/dev/ttyACM0", "/dev/ttyACM1"]],
    ]);
    expect(others).toEqual([
      {
        model: "nRF7002 DK",
        serialNumber: "001050760093",
        ports: ["/dev/ttyACM4", "/dev/ttyACM5"],
        vendorId: "1366",
        productId: "1051",
      },
    ]);
  });

  it("Linux: a plain J-Link and an nRF7002 DK are not nRF91 boards", () => {
    const { boards, others } = matchBoards(mixed);
    expect(boards).toEqual([]);
    expect(others.map((o) => [o.model, o.serialNumber, o.ports])).toEqual([
      ["SEGGER J-Link", "000821001234", ["/dev/ttyACM0"]],
      ["nRF7002 DK", "001050760093", ["/dev/ttyACM1", "/dev/ttyACM2"]],
    ]);
    expect(matchBoards(jlinkMultiCom).others).toMatchObject([
      { model: "SEGGER J-Link", ports: ["/dev/ttyACM0", "/dev/ttyACM1", "/dev/ttyACM2"] },
    ]);
  });

  it("identifies the HWIDs quoted in nrfcredstore's comment", () => {
    const comments = readHwidComments();
    expect(comments.map((c) => c.os)).toEqual(["Linux", "MacOS", "Windows", "Windows"]);
    const models = comments.map(({ hwid }, index) => {
      const { boards, others } = matchBoards([portFromPyserialHwid(hwid, `port${index}`)]);
      return [...boards, ...others].map((found) => found.model);
    });
    // 1366:1059 is both an nRF9151 DK (0010512…) and an nRF54L15 DK (0010577…): PID means nothing.
    expect(models).toEqual([["nRF9151 DK"], ["nRF9151 DK"], ["nRF54L15 DK"], ["nRF54L15 DK"]]);
  });
});

/** A Linux port as serialport lists it from udev. */
function linuxPort(
  serial: string,
  vid: string,
  pid: string,
  iface: number,
  tty: number,
): PortRecord {
  return {
    path: `/dev/ttyACM${tty}`,
    manufacturer: vid === "1366" ? "SEGGER" : "Nordic Semiconductor",
    serialNumber: serial,
    pnpId: `usb-Vendor_Model_${serial}-if${iface.toString(16).padStart(2, "0")}`,
    vendorId: vid,
    productId: pid,
  };
}

describe("matchBoards on the IDs of boards.md §1", () => {
  it.each([
    ["nRF9160 DK", "nrf9160dk", "000960035658", "1366", "1015"],
    ["nRF9161 DK", "nrf9161dk", "001050912345", "1366", "1051"],
    ["nRF9151 DK", "nrf9151dk", "001052012345", "1366", "1059"],
    ["nRF9131 EK", "nrf9131ek", "001051012345", "1366", "1069"],
    ["Thingy:91", "thingy91", "THINGY91_1A2B3C4D5E6F", "1915", "9100"],
    ["Thingy:91", "thingy91", "PCA20035_1A2B3C4D5E6F", "1915", "9100"],
    ["Thingy:91 X", "thingy91x", "THINGY91X_F39CC1B120C", "1915", "910a"],
    ["Thingy:91 X", "thingy91x", "001055012345", "1366", "1051"],
  ])("%s (%s, serial %s)", (model, boardId, serial, vid, pid) => {
    // Listed out of order: the AT port is the lowest interface, not the first listed.
    const ports = [
      linuxPort(serial, vid, pid, 2, 7),
      linuxPort(serial, vid, pid, 0, 9),
      linuxPort(serial, vid, pid, 4, 8),
    ];
    expect(matchBoards(ports).boards).toEqual([
      {
        model,
        boardId,
        serialNumber: serial,
        atPort: "/dev/ttyACM9",
        ports: ["/dev/ttyACM9", "/dev/ttyACM7", "/dev/ttyACM8"],
        vendorId: vid,
        productId: pid,
      },
    ]);
  });

  it("matches DKs whatever their J-Link PID, but only with SEGGER's VID", () => {
    for (const pid of ["1051", "1055", "1059", "1061", "1069"]) {
      expect(matchBoards([linuxPort("000960035658", "1366", pid, 0, 0)]).boards).toHaveLength(1);
    }
    expect(matchBoards([linuxPort("000960035658", "0483", "5740", 0, 0)])).toEqual({
      boards: [],
      others: [],
    });
  });

  it("needs the Thingy PID and compares IDs case-insensitively", () => {
    expect(matchBoards([linuxPort("THINGY91_ABC", "1915", "9999", 0, 0)]).boards).toEqual([]);
    const windowsStyle: PortRecord = {
      path: "COM7",
      serialNumber: "thingy91x_f39cc1b120c",
      pnpId: "USB\\VID_1915&PID_910A&MI_01\\7&2B4D3A1&0&0001",
      vendorId: "0x1915",
      productId: "910A",
    };
    expect(matchBoards([windowsStyle]).boards).toMatchObject([
      { boardId: "thingy91x", atPort: "COM7", productId: "910a" },
    ]);
  });

  it("tries the most specific prefix first: 0010512 before the 00105 catch-all", () => {
    const { boards, others } = matchBoards([
      linuxPort("001051299999", "1366", "1069", 0, 0),
      linuxPort("001059912345", "1366", "1069", 0, 1),
      linuxPort("000960112345", "1366", "1051", 0, 2),
      linuxPort("001051112345", "1366", "1051", 0, 3),
    ]);
    expect(boards.map((b) => b.model)).toEqual(["nRF9151 DK"]);
    expect(others.map((o) => o.model)).toEqual(["nRF5340 DK", "nRF54H20 DK", "Unknown Nordic kit"]);
  });

  it("sorts Windows ports by MI_NN and keeps macOS cu.* over tty.*", () => {
    const win = (path: string, mi: string): PortRecord => ({
      path,
      serialNumber: "000960035658",
      pnpId: `USB\\VID_1366&PID_1015&MI_${mi}\\6&1A2B3C4D&0&00${mi}`,
      vendorId: "1366",
      productId: "1015",
    });
    expect(
      matchBoards([win("COM12", "02"), win("COM9", "04"), win("COM10", "00")]).boards[0]?.ports,
    ).toEqual(["COM10", "COM12", "COM9"]);
    const macPort = (path: string): PortRecord => ({
      path,
      serialNumber: "000960035658",
      vendorId: "1366",
      productId: "1015",
    });
    const board = matchBoards(
      [
        "/dev/tty.usbmodem0009600356583",
        "/dev/cu.usbmodem0009600356583",
        "/dev/cu.usbmodem0009600356581",
        "/dev/tty.usbmodem0009600356581",
      ].map(macPort),
    ).boards[0];
    expect(board?.ports).toEqual([
      "/dev/cu.usbmodem0009600356581",
      "/dev/cu.usbmodem0009600356583",
    ]);
  });

  it("reads interface numbers from by-id names, MI_NN and pyserial locations", () => {
    expect(usbInterfaceNumber({ path: "x", pnpId: "usb-SEGGER_J-Link_000960035658-if0a" })).toBe(
      10,
    );
    expect(usbInterfaceNumber({ path: "x", pnpId: "usb-FTDI_FT232R_A1-if00-port0" })).toBe(0);
    expect(usbInterfaceNumber({ path: "x", locationId: "3-12.1.3.2.4:1.2" })).toBe(2);
    expect(usbInterfaceNumber({ path: "x", locationId: "1-21:x.4" })).toBe(4);
    expect(usbInterfaceNumber({ path: "x", locationId: "Port_#0001.Hub_#0004" })).toBeUndefined();
    expect(normalizeUsbId("0x910A")).toBe("910a");
    expect(normalizeUsbId("xyz")).toBeUndefined();
  });

  it("finds a board by serial number, numerically for all-digit serials", () => {
    const { boards } = matchBoards(linux);
    expect(findBoardBySerial(boards, "1051202135")?.atPort).toBe("/dev/ttyACM2");
    expect(findBoardBySerial(boards, "thingy91x_f39cc1b120c")?.atPort).toBe("/dev/ttyACM0");
    expect(findBoardBySerial(boards, "999999999")).toBeUndefined();
  });
});
