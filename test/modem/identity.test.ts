import { describe, expect, it } from "vitest";
import {
  checkFirmwareSupportsKeygen,
  firmwareListsCredentialHashes,
  parseFirmwareVersion,
  readFirmware,
  readImei,
  readModel,
} from "../../src/modem/index.js";
import { ScriptedAtClient } from "./scripted-at-client.js";

describe("parseFirmwareVersion", () => {
  it.each([
    ["mfw_nrf9160_1.3.5", { major: 1, minor: 3, patch: 5 }],
    ["mfw_nrf91x1_2.0.2", { major: 2, minor: 0, patch: 2 }],
    ["mfw_nrf9160_1.2.3", { major: 1, minor: 2, patch: 3 }],
    ["1.3.0", { major: 1, minor: 3, patch: 0 }],
    ["mfw-nrf9151_2.0.10-FOTA-TEST", { major: 2, minor: 0, patch: 10 }],
  ])("reads %s", (firmware, expected) => {
    expect(parseFirmwareVersion(firmware)).toEqual(expected);
  });

  it.each(["mfw_nrf9160", "mfw_nrf9160_1.3", "mfw_1.3.5_2.0.0", "mfw_nrf9160_v1.3.5", "mfw1.3.5"])(
    "has no single version in %s",
    (firmware) => {
      expect(parseFirmwareVersion(firmware)).toBeNull();
    },
  );
});

describe("checkFirmwareSupportsKeygen", () => {
  it("accepts 1.3.0 and newer", () => {
    for (const firmware of ["mfw_nrf9160_1.3.0", "mfw_nrf9160_1.3.5", "mfw_nrf91x1_2.0.2"]) {
      expect(() => checkFirmwareSupportsKeygen(firmware)).not.toThrow();
    }
  });

  it("refuses older firmware and says how to fix it", () => {
    expect(() => checkFirmwareSupportsKeygen("mfw_nrf9160_1.2.3")).toThrow(
      expect.objectContaining({ name: "ModemError", code: "ERR_MODEM_FIRMWARE_TOO_OLD" }),
    );
    expect(() => checkFirmwareSupportsKeygen("mfw_nrf9160_1.2.3")).toThrow(
      /1\.3\.0 or newer.*nRF Connect Programmer/,
    );
  });

  it("reports an unparseable version explicitly", () => {
    expect(() => checkFirmwareSupportsKeygen("mfw_nrf9160_custom")).toThrow(
      expect.objectContaining({ name: "ModemError", code: "ERR_MODEM_FIRMWARE_UNKNOWN" }),
    );
  });

  it("exempts NTN firmware, as nrfcloud-utils does", () => {
    expect(() => checkFirmwareSupportsKeygen("mfw_nrf9151-ntn_0.9.0")).not.toThrow();
    expect(() => checkFirmwareSupportsKeygen("mfw_nrf9151_ntn")).not.toThrow();
  });
});

describe("firmwareListsCredentialHashes", () => {
  it("is true from 1.3.2, false below, null when unknown", () => {
    expect(firmwareListsCredentialHashes("mfw_nrf9160_1.3.2")).toBe(true);
    expect(firmwareListsCredentialHashes("mfw_nrf9160_1.3.1")).toBe(false);
    expect(firmwareListsCredentialHashes("mfw_nrf9160")).toBeNull();
  });
});

describe("identity reads", () => {
  it("asks for prefix-less answers by shape, so URCs are not taken for them", async () => {
    const at = new ScriptedAtClient()
      .on("AT+CGSN", ["352656100367872"])
      .on("AT+CGMR", ["mfw_nrf9160_1.3.5"])
      .on("AT+CGMM", ["nRF9160-SICA"]);
    expect(await readImei(at)).toBe("352656100367872");
    expect(await readFirmware(at)).toBe("mfw_nrf9160_1.3.5");
    expect(await readModel(at)).toBe("nRF9160-SICA");
    const [cgsn, cgmr, cgmm] = at.sent.map((entry) => entry.options?.responseLine);
    expect(cgsn?.test("352656100367872")).toBe(true);
    expect(cgsn?.test("+CEREG: 0")).toBe(false);
    expect(cgmr?.test("mfw_nrf9160_1.3.5")).toBe(true);
    expect(cgmr?.test("[00:00:28.460,540] <inf> asset_tracker: RRC mode: Connected")).toBe(false);
    expect(cgmm?.test("nRF9151-LACA")).toBe(true);
    expect(cgmm?.test("Ready")).toBe(false);
  });

  it("fails with ERR_MODEM_IMEI when no 15-digit line comes back", async () => {
    const at = new ScriptedAtClient().on("AT+CGSN", ["35265610036787"]);
    await expect(readImei(at)).rejects.toMatchObject({ code: "ERR_MODEM_IMEI" });
  });

  it("passes AT errors through unchanged", async () => {
    const at = new ScriptedAtClient().on("AT+CGMR", { cme: 0 });
    await expect(readFirmware(at)).rejects.toMatchObject({ code: "ERR_AT_CME" });
  });
});
