import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { makeFakeSysfs, twoBoards } from "./fake-sysfs.js";

/** Runs the CLI in-process against a fake sysfs tree (NRF_PROVISION_SYSFS_ROOT). */
async function ports(args: string[], root: string) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on("data", (chunk) => out.push(String(chunk)));
  stderr.on("data", (chunk) => err.push(String(chunk)));
  const code = await runCli(["ports", ...args], {
    stdout,
    stderr,
    isTTY: false,
    env: { NRF_PROVISION_SYSFS_ROOT: root },
    interrupted: new Promise<void>(() => {}),
  });
  return { code, out: out.join(""), err: err.join("") };
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
