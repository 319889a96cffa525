import { describe, expect, it } from "vitest";
import { SimModem } from "../../../src/sim/modem/index.js";
import { connectAtToSimModem } from "../../sim-link.js";
import { readVector } from "../../vectors.js";
import { connectSim } from "./helpers.js";

// The simulated board as a real one looks on a bench (issue 10): its own credential entries,
// answers to everyday commands, realistic identities.

const listLine = /^%CMNG: (\d+),(\d+),"([0-9A-F]{64})"$/;

describe("a fresh simulated board", () => {
  it("lists the modem's reserved entries like Nordic's SDK test data: tags, types, order", async () => {
    const { reader } = connectSim();
    const lines = await reader.send("AT%CMNG=1");
    const reserved = (text: string[]) =>
      text
        .map((line) => listLine.exec(line))
        .filter((match) => match && Number(match[1]) > 2147483647)
        .map((match) => `${match?.[1]},${match?.[2]}`);
    const vector = readVector("cmng_list_reserved_tags_sdk_test_data.txt").split(/\r?\n/);
    expect(reserved(lines)).toEqual(reserved(vector));
    expect(reserved(lines)).toEqual(["4294967293,10", "4294967294,6", "4294967292,11"]);
    expect(lines.at(-1)).toBe("OK");
  });

  it("refuses to write, delete or read them (514), and can start without them", async () => {
    const { reader } = connectSim({ functionalMode: 4 });
    await reader.send("AT+CMEE=1");
    expect(await reader.send('AT%CMNG=0,4294967292,11,"x"')).toEqual(["+CME ERROR: 514"]);
    expect(await reader.send("AT%CMNG=3,4294967293,10")).toEqual(["+CME ERROR: 514"]);
    expect(await reader.send("AT%CMNG=2,4294967294,6")).toEqual(["+CME ERROR: 514"]);
    expect((await reader.send("AT%CMNG=1")).length).toBe(4);
    expect(await connectSim({ reservedCredentials: false }).reader.send("AT%CMNG=1")).toEqual([
      "OK",
    ]);
  });

  it("refuses an empty %CMNG content", async () => {
    const { reader, modem } = connectSim({ functionalMode: 4 });
    expect(await reader.send('AT%CMNG=0,16,0,""')).toEqual(["ERROR"]);
    expect(modem.credentials()).toEqual([]);
  });

  it("has a device UUID that starts with ASCII bytes, like real modems (50363154-3931-…)", () => {
    for (const seed of ["a", "b", "c", "d", "e", "f", "g", "h"]) {
      const uuid = new SimModem({ seed }).deviceUuid;
      const bytes = Buffer.from(uuid.replaceAll("-", ""), "hex");
      expect(bytes.subarray(0, 6).toString("latin1")).toMatch(/^P[0-9A-Z]{3}[0-9]{2}$/);
      expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-80[0-9a-f]{2}-[0-9a-f]{12}$/);
    }
    expect(new SimModem({ seed: "a" }).deviceUuid).toBe(new SimModem({ seed: "a" }).deviceUuid);
  });
});

describe("everyday commands a real modem answers", () => {
  it.each<[string, RegExp]>([
    ["AT+CEREG?", /^\+CEREG: 0,1$/],
    ["AT+CIND?", /^\+CIND: 1,0,0$/],
    ["AT+CGDCONT?", /^\+CGDCONT: 0,"IPV4V6","[^"]+","[^"]+",0,0$/],
    ["AT+CGACT?", /^\+CGACT: 0,1$/],
    ["AT+CGEREP?", /^\+CGEREP: 0,0$/],
    ["AT+CNEC?", /^\+CNEC: 0$/],
    ["AT+CEMODE?", /^\+CEMODE: [02]$/],
    ["AT%XCBAND=?", /^%XCBAND: \((\d+,)+\d+\)$/],
    ["AT%XVBAT", /^%XVBAT: \d{4}$/],
    ["AT%XSYSTEMMODE?", /^%XSYSTEMMODE: [01],[01],[01],[0-4]$/],
    ["AT%SHORTSWVER", /^%SHORTSWVER: nrf9160_1\.3\.5$/],
    ["AT+CIMI", /^\d{15}$/],
    ["AT%XICCID", /^%XICCID: \d{19}F$/],
  ])("%s", async (command, answer) => {
    const { reader } = connectSim();
    const lines = await reader.send(command);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(answer);
    expect(lines[1]).toBe("OK");
  });

  it("AT+CEREG=5 sets the report level; offline it reports not registered", async () => {
    const { reader } = connectSim();
    expect(await reader.send("AT+CEREG=5")).toEqual(["OK"]);
    expect((await reader.send("AT+CEREG?"))[0]).toMatch(
      /^\+CEREG: 5,1,"[0-9A-F]{4}","[0-9A-F]{8}",7,,,"\d{8}","\d{8}"$/,
    );
    expect(await reader.send("AT+CFUN=4")).toEqual(["OK"]);
    expect(await reader.send("AT+CEREG?")).toEqual(["+CEREG: 5,4", "OK"]);
    expect(await reader.send("AT+CIMI")).toEqual(["ERROR"]); // UICC off in flight mode
    expect(await reader.send("AT+CEREG=9")).toEqual(["ERROR"]);
  });

  it("AT%DEVICEUUID only on nRF91x1 firmware", async () => {
    const nrf9151 = connectSim({ model: "nRF9151-LACA", firmware: "mfw_nrf91x1_2.0.2" });
    expect(await nrf9151.reader.send("AT%DEVICEUUID")).toEqual([
      `%DEVICEUUID: ${nrf9151.modem.deviceUuid}`,
      "OK",
    ]);
    expect(await connectSim().reader.send("AT%DEVICEUUID")).toEqual(["ERROR"]);
  });

  it("the AT client reads the prefix-less IMSI of AT+CIMI", async () => {
    const { at } = await connectAtToSimModem({ urcs: "chatty" }, { mode: "at", flushMs: 0 });
    const { lines } = await at.send("AT+CIMI");
    expect(lines).toEqual([expect.stringMatching(/^90128\d{10}$/)]);
    await at.close();
  });
});
