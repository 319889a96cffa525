import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { connectSim } from "./helpers.js";

const amazonRootCa1 = readFileSync(
  new URL("../../../assets/AmazonRootCA1.pem", import.meta.url),
  "utf8",
);

describe("simulated %CMNG", () => {
  it("lists the real-modem hash of Amazon Root CA 1 as written (LF, 1188 bytes)", async () => {
    const { modem, reader } = connectSim({ functionalMode: 4 });
    expect(amazonRootCa1.length).toBe(1188);
    expect(await reader.send(`AT%CMNG=0,16842753,0,"${amazonRootCa1}"`)).toEqual(["OK"]);
    expect(await reader.send("AT%CMNG=1,16842753")).toEqual([
      '%CMNG: 16842753,0,"2C43952EE9E000FF2ACC4E2ED0897C0A72AD5FA72C3D934E81741CBD54F05BD1"',
      "OK",
    ]);
    expect(modem.credentials()).toEqual([
      {
        secTag: 16842753,
        type: 0,
        content: amazonRootCa1,
        sha256: "2C43952EE9E000FF2ACC4E2ED0897C0A72AD5FA72C3D934E81741CBD54F05BD1",
      },
    ]);
  });

  it("stores exact bytes: a CRLF PEM hashes differently from the LF one", async () => {
    const { reader } = connectSim({ functionalMode: 0 });
    const crlf = amazonRootCa1.replaceAll("\n", "\r\n");
    expect(await reader.send(`AT%CMNG=0,1,0,"${crlf}"`)).toEqual(["OK"]);
    const expected = createHash("sha256").update(crlf).digest("hex").toUpperCase();
    expect(await reader.send("AT%CMNG=1,1,0")).toEqual([`%CMNG: 1,0,"${expected}"`, "OK"]);
  });

  it("writes, lists filtered by tag and type, reads type 0, deletes", async () => {
    const { reader } = connectSim({ functionalMode: 4 });
    await reader.send("AT+CMEE=1");
    const cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    for (const [tag, type] of [
      [20, 1],
      [10, 0],
      [20, 0],
      [10, 4],
    ] as const) {
      expect(
        await reader.send(`AT%CMNG=0,${tag},${type},"${type === 4 ? "identity" : cert}"`),
      ).toEqual(["OK"]);
    }
    const all = await reader.send("AT%CMNG=1");
    expect(all.map((line) => line.slice(0, 13))).toEqual([
      '%CMNG: 10,0,"',
      '%CMNG: 10,4,"',
      '%CMNG: 20,0,"',
      '%CMNG: 20,1,"',
      "%CMNG: 429496", // the modem's own entries follow the user's
      "%CMNG: 429496",
      "%CMNG: 429496",
      "OK",
    ]);
    expect((await reader.send("AT%CMNG=1,20")).length).toBe(3);
    expect((await reader.send("AT%CMNG=1,20,1")).length).toBe(2);
    expect(await reader.send("AT%CMNG=1,99")).toEqual(["OK"]);
    const sha = createHash("sha256").update(cert).digest("hex").toUpperCase();
    expect(await reader.send("AT%CMNG=2,10,0")).toEqual([`%CMNG: 10,0,"${sha}","${cert}"`, "OK"]);
    expect(await reader.send("AT%CMNG=2,20,1")).toEqual(["+CME ERROR: 514"]);
    expect(await reader.send("AT%CMNG=2,30,0")).toEqual(["+CME ERROR: 513"]);
    expect(await reader.send("AT%CMNG=3,20,1")).toEqual(["OK"]);
    expect(await reader.send("AT%CMNG=3,20,1")).toEqual(["+CME ERROR: 513"]);
    expect((await reader.send("AT%CMNG=1,20")).length).toBe(2);
  });

  it("refuses writes and deletes in active mode (518) and reserved sec tags (514)", async () => {
    const { modem, reader } = connectSim();
    await reader.send("AT+CMEE=1");
    expect(await reader.send('AT%CMNG=0,16,0,"x"')).toEqual(["+CME ERROR: 518"]);
    expect(await reader.send("AT%CMNG=3,16,0")).toEqual(["+CME ERROR: 518"]);
    expect(await reader.send("AT+CFUN=44")).toEqual(["OK"]);
    expect(modem.functionalMode).toBe(44);
    expect(await reader.send('AT%CMNG=0,2147483648,0,"x"')).toEqual(["+CME ERROR: 514"]);
    expect(await reader.send("AT%CMNG=3,4294967292,0")).toEqual(["+CME ERROR: 514"]);
    expect(await reader.send('AT%CMNG=0,16,0,"x"')).toEqual(["OK"]);
  });

  it("answers malformed %CMNG commands with ERROR and lists no hash on firmware < 1.3.2", async () => {
    const { reader } = connectSim({ functionalMode: 4, firmware: "mfw_nrf9160_1.3.1" });
    expect(await reader.send("AT%CMNG=9")).toEqual(["ERROR"]);
    expect(await reader.send("AT%CMNG=0,16,0")).toEqual(["ERROR"]);
    expect(await reader.send('AT%CMNG=0,16,0,"x",' + `"${"p".repeat(33)}"`)).toEqual(["ERROR"]);
    expect(await reader.send('AT%CMNG=0,16,0,"x"')).toEqual(["OK"]);
    expect(await reader.send("AT%CMNG=1,16")).toEqual(["%CMNG: 16,0", "OK"]);
  });
});
