import { importSPKI, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { parseKeygenOutput } from "../../../src/attest/index.js";
import { isValidImei, luhnCheckDigit, SimModem } from "../../../src/sim/modem/index.js";
import { SHELL_PROMPT } from "../../../src/sim/modem/shell.js";
import { connectSim } from "./helpers.js";

describe("simulated modem identity", () => {
  it("answers the identity commands", async () => {
    const { modem, reader } = connectSim({
      imei: "352656100367872",
      deviceUuid: "50363154-3931-44F0-8022-121B6401627D",
    });
    expect(modem.deviceUuid).toBe("50363154-3931-44f0-8022-121b6401627d");
    expect(await reader.send("AT")).toEqual(["OK"]);
    expect(await reader.send("AT+CGSN")).toEqual(["352656100367872", "OK"]);
    expect(await reader.send("AT+CGSN=1")).toEqual(['+CGSN: "352656100367872"', "OK"]);
    expect(await reader.send("AT+CGMR")).toEqual(["mfw_nrf9160_1.3.5", "OK"]);
    expect(await reader.send("AT+CGMM")).toEqual(["nRF9160-SICA", "OK"]);
    expect(await reader.send("AT+CGMI")).toEqual(["Nordic Semiconductor ASA", "OK"]);
    expect(await reader.send("AT%HWVERSION")).toEqual(["%HWVERSION: nRF9160 SICA B1A", "OK"]);
    expect(await reader.send("AT%XMODEMUUID")).toEqual([
      expect.stringMatching(/^%XMODEMUUID: [0-9a-f-]{36}$/),
      "OK",
    ]);
    expect(await reader.send("AT+CFUN=?")).toEqual(["+CFUN: (0,1,2,4,20,21,30,31,40,41,44)", "OK"]);
    expect(await reader.send("AT+CFUN=7")).toEqual(["ERROR"]);
    expect(await reader.send("AT+NOPE")).toEqual(["ERROR"]);
    expect(await reader.send("hello")).toEqual(["ERROR"]);
  });

  it("gives each board its own valid IMEI and UUID; a seed makes them reproducible", () => {
    const a = new SimModem();
    const b = new SimModem();
    expect(a.imei).not.toBe(b.imei);
    expect(a.deviceUuid).not.toBe(b.deviceUuid);
    expect(a.identityPublicKeyPem).not.toBe(b.identityPublicKeyPem);
    expect(isValidImei(a.imei) && isValidImei(b.imei)).toBe(true);
    const seeded = [new SimModem({ seed: "line-3" }), new SimModem({ seed: "line-3" })];
    expect(seeded[0]?.imei).toBe(seeded[1]?.imei);
    expect(seeded[0]?.deviceUuid).toBe(seeded[1]?.deviceUuid);
    expect(seeded[0]?.identityPublicKeyPem).toBe(seeded[1]?.identityPublicKeyPem);
    expect(new SimModem({ seed: "line-4" }).imei).not.toBe(seeded[0]?.imei);
    expect(seeded[0]?.deviceUuid).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it("computes Luhn check digits of real IMEIs", () => {
    expect(luhnCheckDigit("35265610036787")).toBe(2);
    expect(isValidImei("490154203237518")).toBe(true);
    expect(isValidImei("490154203237517")).toBe(false);
  });

  it("rejects malformed identity options", () => {
    expect(() => new SimModem({ imei: "123" })).toThrowError(
      expect.objectContaining({ code: "ERR_USAGE" }),
    );
    expect(() => new SimModem({ deviceUuid: "nope" })).toThrowError(
      expect.objectContaining({ code: "ERR_USAGE" }),
    );
  });

  it("reports numeric CME codes only after AT+CMEE=1", async () => {
    const { reader } = connectSim();
    expect(await reader.send("AT+CMEE?")).toEqual(["+CMEE: 0", "OK"]);
    expect(await reader.send("AT%CMNG=3,1,0")).toEqual(["ERROR"]);
    expect(await reader.send("AT+CMEE=1")).toEqual(["OK"]);
    expect(await reader.send("AT+CMEE?")).toEqual(["+CMEE: 1", "OK"]);
    expect(await reader.send("AT%CMNG=3,1,0")).toEqual(["+CME ERROR: 518"]);
  });
});

describe("simulated clock and %JWT", () => {
  it("does not know the time until AT+CCLK is set; then keeps it running", async () => {
    let now = Date.UTC(2026, 0, 1);
    const { reader } = connectSim();
    expect(await reader.send("AT+CCLK?")).toEqual(["ERROR"]);
    expect(await reader.send('AT+CCLK="24/02/29,23:59:30+08"')).toEqual(["OK"]);
    expect(await reader.send("AT+CCLK?")).toEqual([
      expect.stringMatching(/^\+CCLK: "24\/02\/29,23:59:3\d\+08"$/),
      "OK",
    ]);
    const known = connectSim({ clock: () => now });
    expect(await known.reader.send("AT+CCLK?")).toEqual(['+CCLK: "26/01/01,00:00:00+00"', "OK"]);
    now += 61_000;
    expect(await known.reader.send("AT+CCLK?")).toEqual(['+CCLK: "26/01/01,00:01:01+00"', "OK"]);
    expect(await known.reader.send('AT+CCLK="bad"')).toEqual(["ERROR"]);
    expect(await known.reader.send('AT+CCLK="24/02/30,00:00:00+00"')).toEqual(["ERROR"]);
    expect(await known.reader.send('AT+CCLK="24/13/01,00:00:00+00"')).toEqual(["ERROR"]);
  });

  it("signs a JWT with the identity key (iss = chip.uuid) and with a sec tag key", async () => {
    const now = Date.UTC(2026, 5, 1);
    const { modem, reader } = connectSim({ clock: () => now });
    await reader.send("AT+CMEE=1");
    const [line] = await reader.send('AT%JWT=0,3600,"my-device","nrfcloud"');
    const token = /^%JWT: "(.+)"$/.exec(line ?? "")?.[1] ?? "";
    const identityKey = await importSPKI(modem.identityPublicKeyPem, "ES256");
    const { payload, protectedHeader } = await jwtVerify(token, identityKey, {
      currentDate: new Date(now),
    });
    expect(protectedHeader.alg).toBe("ES256");
    expect(payload).toMatchObject({
      iss: `nRF9160.${modem.deviceUuid}`,
      sub: "my-device",
      aud: "nrfcloud",
      iat: now / 1000,
      exp: now / 1000 + 3600,
    });

    expect(await reader.send("AT%JWT=0,0,,,16,2")).toEqual(["+CME ERROR: 513"]);
    await reader.send("AT+CFUN=4");
    const keygen = parseKeygenOutput((await reader.send("AT%KEYGEN=16,2,1")).join("\n"));
    const [tagLine] = await reader.send('AT%JWT=0,0,"dev",,16,2');
    const tagToken = /^%JWT: "(.+)"$/.exec(tagLine ?? "")?.[1] ?? "";
    const { payload: tagClaims } = await jwtVerify(
      tagToken,
      await importSPKI(keygen.publicKeyPem, "ES256"),
    );
    expect(tagClaims.sub).toBe("dev");
    expect(tagClaims.iss).toBeUndefined();
    expect(tagClaims.exp).toBeUndefined();
  });

  it("answers CME 525 when iat/exp are asked for while the time is unknown, 50 on bad parameters", async () => {
    const { reader } = connectSim();
    await reader.send("AT+CMEE=1");
    expect(await reader.send("AT%JWT=0,600")).toEqual(["+CME ERROR: 525"]);
    expect(await reader.send("AT%JWT=1,0")).toEqual(["+CME ERROR: 50"]);
    expect(await reader.send("AT%JWT=0,0,,,16")).toEqual(["+CME ERROR: 50"]);
    expect((await reader.send("AT%JWT=0,0"))[1]).toBe("OK");
  });
});

describe("simulated link knobs and faults", () => {
  it("honours the terminator: CR firmware ignores CRLF's LF, LF firmware rejects `AT\\r`", async () => {
    const cr = connectSim({ terminator: "\r" });
    expect(await cr.reader.send("AT+CGMM", "\r")).toEqual(["nRF9160-SICA", "OK"]);
    expect(await cr.reader.send("AT+CGMM", "\r\n")).toEqual(["nRF9160-SICA", "OK"]);
    const lf = connectSim({ terminator: "\n" });
    expect(await lf.reader.send("AT", "\r\n")).toEqual(["ERROR"]);
    expect(await lf.reader.send("AT", "\n")).toEqual(["OK"]);
  });

  it("answers ERROR to a command longer than 4095 bytes (AT_HOST truncates it)", async () => {
    const { reader } = connectSim({ functionalMode: 4 });
    expect(await reader.send(`AT%CMNG=0,1,0,"${"A".repeat(4100)}"`)).toEqual(["ERROR"]);
    expect(await reader.send("AT%CMNG=1,1")).toEqual(["OK"]);
  });

  it("echoes commands when asked and interleaves injected URCs", async () => {
    const { modem, reader } = connectSim({ echo: true, latencyMs: 20 });
    const pending = reader.send("AT+CFUN?");
    await reader.until(() => reader.pending.includes("AT+CFUN?\r\n"));
    modem.injectUrc("+CEREG: 5");
    expect(await pending).toEqual(["AT+CFUN?", "+CEREG: 5", "+CFUN: 1", "OK"]);
  });

  it("emits periodic noise lines", async () => {
    const { reader } = connectSim({ noise: { intervalMs: 5, lines: ["+CSCON: 1"] } });
    await reader.until(() => reader.pending.split("+CSCON: 1\r\n").length > 2);
  });

  it("forces CME codes on matching commands (shown as ERROR until CMEE=1)", async () => {
    const { reader } = connectSim({ functionalMode: 4, faults: { cmeOn: { "AT%CMNG=0": 515 } } });
    expect(await reader.send('AT%CMNG=0,1,0,"x"')).toEqual(["ERROR"]);
    await reader.send("AT+CMEE=1");
    expect(await reader.send('at%cmng=0,1,0,"x"')).toEqual(["+CME ERROR: 515"]);
    expect(await reader.send("AT%CMNG=1,1")).toEqual(["OK"]);
  });

  it("stalls a matching command and everything after it", async () => {
    const { host, reader } = connectSim({ faults: { stallCommand: /^AT%KEYGEN/ } });
    expect(await reader.send("AT")).toEqual(["OK"]);
    await host.write("AT%KEYGEN=1,2,0\r\nAT\r\n");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reader.pending).toBe("");
  });

  it("drops the link after N received bytes, like an unplugged board", async () => {
    const { host, reader } = connectSim({ faults: { dropAfterBytes: 10 } });
    expect(await reader.send("AT")).toEqual(["OK"]); // 4 bytes
    await expect(reader.send("AT+CGSN")).rejects.toThrow(/link closed: .*dropped after 10 bytes/);
    expect(host.isOpen).toBe(false);
  });

  it("shell mode: coloured prompt, echo, `at '<cmd>'`, PEM line breaks stored as CR LF", async () => {
    const { host, modem, reader } = connectSim({ shellMode: true, functionalMode: 4 });
    expect(SHELL_PROMPT).toBe("\x1b[1;32muart:~$ \x1b[m");
    await reader.until(() => reader.pending === SHELL_PROMPT);
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const command = `at 'AT%CMNG=0,16842753,0,"${pem.replaceAll("\n", "\\n")}"'`;
    expect(await reader.send(command)).toEqual([`${SHELL_PROMPT}${command}`, "OK", SHELL_PROMPT]);
    expect(modem.credentials()[0]?.content).toBe(pem.replaceAll("\n", "\r\n"));
    expect(await reader.send("at AT+CGSN")).toEqual(["at AT+CGSN", modem.imei, "OK", SHELL_PROMPT]);
    await host.write("AT+CGSN\r\n");
    await reader.until(
      () => reader.pending === `AT+CGSN\r\nAT+CGSN: command not found\r\n${SHELL_PROMPT}`,
    );
  });

  it("shell mode: an unquoted command is cut at its first space, and \\n outside quotes is n", async () => {
    const received: string[] = [];
    const connection = connectSim({
      shellMode: true,
      functionalMode: 4,
      onCommand: (command) => received.push(command),
    });
    const { reader } = connection;
    await reader.until(() => reader.pending === SHELL_PROMPT);
    // What the project used to send: Zephyr splits it, and the modem gets a broken command.
    const old = 'at AT%CMNG=0,1,0,\\"-----BEGIN CERTIFICATE-----\\nMIIB\\n\\"';
    expect((await reader.send(old)).slice(1)).toEqual(["ERROR", SHELL_PROMPT]);
    expect(received).toEqual(['AT%CMNG=0,1,0,"-----BEGIN']);
    const { host } = connection;
    await host.write("at 'AT+CGSN\r\n");
    await reader.until(
      () => reader.pending === `at 'AT+CGSN\r\nnot terminated: '\r\n${SHELL_PROMPT}`,
    );
    expect(received).toHaveLength(1);
  });

  it("shell mode without the LF unescape stores the two characters \\n", async () => {
    const { modem, reader } = connectSim({
      shellMode: true,
      shellLfUnescape: false,
      functionalMode: 4,
    });
    await reader.until(() => reader.pending === SHELL_PROMPT);
    expect((await reader.send("at 'AT%CMNG=0,1,0,\"a\\nb\"'")).slice(1)).toEqual([
      "OK",
      SHELL_PROMPT,
    ]);
    expect(modem.credentials()[0]?.content).toBe("a\\nb");
  });
});
