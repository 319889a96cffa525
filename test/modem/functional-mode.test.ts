import { describe, expect, it } from "vitest";
import { AtError } from "../../src/at/index.js";
import { getFunctionalMode, withOfflineMode } from "../../src/modem/index.js";
import { ScriptedAtClient } from "./scripted-at-client.js";

function modem(mode: number) {
  const at = new ScriptedAtClient();
  let current = mode;
  at.on("AT+CFUN?", () => [`+CFUN: ${current}`]).on(/^AT\+CFUN=\d+$/, (command) => {
    current = Number(command.slice("AT+CFUN=".length));
    return [];
  });
  return { at, mode: () => current };
}

describe("functional mode", () => {
  it("reads +CFUN", async () => {
    expect(await getFunctionalMode(modem(21).at)).toBe(21);
  });

  it("goes to flight mode for the work and restores the previous mode", async () => {
    const { at, mode } = modem(1);
    const seen = await withOfflineMode(at, async () => mode());
    expect(seen).toBe(4);
    expect(mode()).toBe(1);
    expect(at.commands).toEqual(["AT+CFUN?", "AT+CFUN=4", "AT+CFUN=1"]);
  });

  it.each([0, 4, 44])("leaves mode %i alone: it is already offline", async (offline) => {
    const { at } = modem(offline);
    await withOfflineMode(at, async () => undefined);
    expect(at.commands).toEqual(["AT+CFUN?"]);
  });

  it("restores the mode when the work fails and rethrows the failure", async () => {
    const { at, mode } = modem(1);
    const failure = new AtError("ERR_AT_CME", "boom", {
      details: { port: "scripted", command: "AT%KEYGEN=7,2,0", cme: 514 },
    });
    await expect(
      withOfflineMode(at, async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(mode()).toBe(1);
  });

  it("surfaces both errors when the restore fails too", async () => {
    const { at } = modem(1);
    at.on("AT+CFUN=1", { cme: 50 });
    await expect(
      withOfflineMode(at, async () => {
        throw new AtError("ERR_AT_TIMEOUT", "keygen timed out", {
          details: { port: "scripted", command: "AT%KEYGEN=7,2,0" },
        });
      }),
    ).rejects.toMatchObject({
      code: "ERR_MODEM_CFUN_RESTORE",
      message: expect.stringMatching(/keygen timed out.*restoring functional mode 1/),
      details: { operationError: { code: "ERR_AT_TIMEOUT" }, restoreError: { code: "ERR_AT_CME" } },
    });
  });

  it("lets a disconnect through as it is when the restore fails for the same reason", async () => {
    const { at } = modem(1);
    const gone = () =>
      new AtError("ERR_AT_DISCONNECTED", "closed", {
        details: { port: "scripted", command: "AT+CFUN=1" },
      });
    at.on("AT+CFUN=1", { fail: gone() });
    const unplugged = gone();
    await expect(
      withOfflineMode(at, async () => {
        throw unplugged;
      }),
    ).rejects.toBe(unplugged);
  });

  it("reports a failed restore after successful work", async () => {
    const { at } = modem(1);
    at.on("AT+CFUN=1", { cme: 50 });
    await expect(withOfflineMode(at, async () => 1)).rejects.toMatchObject({
      code: "ERR_MODEM_CFUN_RESTORE",
      details: { operationError: null },
    });
  });

  it("does not run the work when going offline fails", async () => {
    const { at } = modem(1);
    at.on("AT+CFUN=4", { cme: 50 });
    let ran = false;
    await expect(
      withOfflineMode(at, async () => {
        ran = true;
      }),
    ).rejects.toMatchObject({ code: "ERR_AT_CME" });
    expect(ran).toBe(false);
  });
});
