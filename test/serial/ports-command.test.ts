import { describe, expect, it } from "vitest";
import { jsonOutput, runCliCaptured } from "../cli/harness.js";
import { makeFakeSysfs, twoBoards } from "./fake-sysfs.js";

/** Runs the CLI in-process against a fake sysfs tree (NRF_PROVISION_SYSFS_ROOT). */
function ports(args: string[], root: string) {
  return runCliCaptured(["ports", ...args], { env: { NRF_PROVISION_SYSFS_ROOT: root } });
}

const jlink = {
  tty: "ttyACM5",
  busPath: "3-12.3",
  interfaceNumber: 0,
  vendorId: "1366",
  productId: "0105",
  serial: "000821001234",
};

describe("nrf-provision ports", () => {
  it("prints a table of boards with their AT port", async () => {
    const root = await makeFakeSysfs([...twoBoards, jlink]);
    const { code, out } = await ports([], root);
    expect(code).toBe(0);
    expect(out.split("\n")).toEqual([
      "MODEL        SERIAL                 AT PORT       OTHER PORTS",
      "nRF9160 DK   000960035658           /dev/ttyACM1  /dev/ttyACM2 /dev/ttyACM0",
      "Thingy:91 X  THINGY91X_F39CC1B120C  /dev/ttyACM3  /dev/ttyACM4",
      "",
    ]);
  });

  it("shows skipped devices with --all", async () => {
    const root = await makeFakeSysfs([...twoBoards, jlink]);
    const { out } = await ports(["--all"], root);
    expect(out).toMatch(/SEGGER J-Link \(not nRF91\)\s+000821001234\s+-\s+\/dev\/ttyACM5/);
  });

  it("prints a JSON array with --json", async () => {
    const root = await makeFakeSysfs([...twoBoards, jlink]);
    const { code, out } = await ports(["--json", "--all"], root);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual([
      {
        nrf91: true,
        model: "nRF9160 DK",
        boardId: "nrf9160dk",
        serialNumber: "000960035658",
        atPort: "/dev/ttyACM1",
        ports: ["/dev/ttyACM1", "/dev/ttyACM2", "/dev/ttyACM0"],
        vendorId: "1366",
        productId: "1015",
      },
      expect.objectContaining({ nrf91: true, boardId: "thingy91x", atPort: "/dev/ttyACM3" }),
      expect.objectContaining({ nrf91: false, model: "SEGGER J-Link", ports: ["/dev/ttyACM5"] }),
    ]);
  });

  it("says so when nothing is attached", async () => {
    const root = await makeFakeSysfs([]);
    expect((await ports([], root)).out).toMatch(/^No nRF91 boards found\./);
    expect(JSON.parse((await ports(["--json"], root)).out)).toEqual([]);
  });

  it("fails with exit code 3 when ports cannot be enumerated", async () => {
    const { code, err } = await ports([], "/nonexistent-sysfs-root");
    expect(code).toBe(3);
    expect(err).toMatch(/error: .*ENOENT/);
  });
});

// `--port auto` in the commands that open a board resolves through the same lister, so
// NRF_PROVISION_SYSFS_ROOT applies. The lister reports /dev/<tty> names, which cannot point at a
// pseudo-terminal: a board whose node does not exist shows the resolution reached the open.
describe("modem … --port auto", () => {
  const board = (tty: string, busPath: string, serial: string) => ({
    tty,
    busPath,
    interfaceNumber: 0,
    vendorId: "1915",
    productId: "910a",
    serial,
    manufacturer: "Nordic Semiconductor",
  });

  function modemInfo(root: string) {
    return runCliCaptured(["modem", "info", "--port", "auto", "--json"], {
      env: { NRF_PROVISION_SYSFS_ROOT: root },
    });
  }

  it("opens the AT port of the only board in the sysfs tree", async () => {
    const root = await makeFakeSysfs([board("ttyACM97", "3-9", "THINGY91X_0000AUTO01")]);
    const result = await modemInfo(root);
    expect(result.code).toBe(3);
    expect(jsonOutput(result)).toMatchObject({
      ok: false,
      error: { code: "ERR_PORT_OPEN", details: { port: "/dev/ttyACM97", reason: "not-found" } },
    });
  });

  it("refuses to guess between two boards and names both", async () => {
    const root = await makeFakeSysfs(twoBoards);
    const result = await modemInfo(root);
    expect(result.code).toBe(3);
    expect(jsonOutput(result)).toMatchObject({
      ok: false,
      error: {
        code: "ERR_PORT_AMBIGUOUS",
        details: {
          candidates: [
            "nRF9160 DK 000960035658 (AT port /dev/ttyACM1)",
            "Thingy:91 X THINGY91X_F39CC1B120C (AT port /dev/ttyACM3)",
          ],
        },
      },
    });
    expect(result.err).toMatch(/2 nRF91 boards attached: .*pick one with --port/);
  });

  it("says no board is attached when the tree has none", async () => {
    const result = await modemInfo(await makeFakeSysfs([]));
    expect(result.code).toBe(3);
    expect(jsonOutput(result)).toMatchObject({ error: { code: "ERR_PORT_NOT_FOUND" } });
    expect(result.err).toMatch(/no nRF91 board found: connect the board, or pass --port <path>/);
  });
});
