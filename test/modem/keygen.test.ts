import { describe, expect, it } from "vitest";
import { keygen, keygenCommand, readDeviceUuid, readIdentity } from "../../src/modem/index.js";
import { readVector as vector } from "../vectors.js";
import { ScriptedAtClient } from "./scripted-at-client.js";

// Wire form: `%KEYGEN: "<blob>"` CRLF `OK` CRLF, from AT%KEYGEN=52,2,0.
const keygenLine52 = vector("serial_keygen_response_sectag52_uuid50363953.txt").split(/\r?\n/)[0]!;
const attestLine = vector("serial_attesttoken_response.txt").split(/\r?\n/)[0]!;

describe("keygenCommand", () => {
  it("builds the command, always passing the response content", () => {
    expect(keygenCommand({ secTag: 16842753, content: "csr" })).toBe("AT%KEYGEN=16842753,2,0");
    expect(keygenCommand({ secTag: 16, content: "public-key" })).toBe("AT%KEYGEN=16,2,1");
    expect(
      keygenCommand({
        secTag: 1,
        content: "csr",
        attributes: "O=Nordic Semiconductor,CN=nrf-352656100367872",
        keyUsage: "101010000",
      }),
    ).toBe('AT%KEYGEN=1,2,0,"O=Nordic Semiconductor,CN=nrf-352656100367872","101010000"');
  });

  it.each([
    ['CN=a"b', /contains "/],
    ["CN=a\r\nAT+CFUN=1", /0x0d/],
    ["CN=\u0008x", /0x08/],
  ])("rejects attributes %j before sending", async (attributes, message) => {
    const at = new ScriptedAtClient();
    await expect(keygen(at, { secTag: 1, content: "csr", attributes })).rejects.toMatchObject({
      code: "ERR_MODEM_ATTRIBUTES",
      message: expect.stringMatching(message),
    });
    expect(at.commands).toEqual([]);
  });

  it("rejects a malformed key usage and one without attributes", () => {
    expect(() => keygenCommand({ secTag: 1, content: "csr", keyUsage: "10101" })).toThrow(
      /9-character/,
    );
    expect(() => keygenCommand({ secTag: 1, content: "csr", keyUsage: "101010000" })).toThrow(
      /needs subject attributes/,
    );
  });

  it("refuses reserved sec tags", () => {
    expect(() => keygenCommand({ secTag: 2147483648, content: "csr" })).toThrow(/user range/);
  });
});

describe("keygen", () => {
  it("parses a real modem response and checks its sec tag, with a long timeout", async () => {
    const at = new ScriptedAtClient().on("AT%KEYGEN=52,2,0", [keygenLine52]);
    const result = await keygen(at, { secTag: 52, content: "csr" });
    expect(result.kind).toBe("csr");
    expect(result.secTag).toBe(52);
    expect(result.deviceUuid).toBe("50363953-3234-4723-80b9-1503d88271bf");
    expect(result.digestMatches).toBe(true);
    expect(result.response).toBe(keygenLine52);
    expect(at.sent[0]?.options).toMatchObject({ responsePrefix: "%KEYGEN:", timeoutMs: 60_000 });
  });

  it("refuses output attested for another sec tag", async () => {
    const at = new ScriptedAtClient().on(/^AT%KEYGEN=/, [keygenLine52]);
    await expect(keygen(at, { secTag: 53, content: "csr" })).rejects.toMatchObject({
      code: "ERR_KEYGEN_SECTAG",
    });
  });

  it("refuses a CSR when a public key was asked for", async () => {
    const at = new ScriptedAtClient().on(/^AT%KEYGEN=/, [keygenLine52]);
    await expect(keygen(at, { secTag: 52, content: "public-key" })).rejects.toMatchObject({
      code: "ERR_MODEM_UNEXPECTED_RESPONSE",
    });
  });

  it("fails clearly when OK comes without a %KEYGEN line", async () => {
    const at = new ScriptedAtClient().on(/^AT%KEYGEN=/, []);
    await expect(keygen(at, { secTag: 52, content: "csr" })).rejects.toMatchObject({
      code: "ERR_MODEM_UNEXPECTED_RESPONSE",
    });
  });
});

describe("device UUID and identity", () => {
  it("reads the device UUID from a real attestation token", async () => {
    const at = new ScriptedAtClient().on("AT%ATTESTTOKEN", [attestLine]);
    expect(await readDeviceUuid(at)).toBe("50363154-3931-44f0-8022-121b6401627d");
  });

  it("reads the whole identity", async () => {
    const at = new ScriptedAtClient()
      .on("AT+CGSN", ["352656100367872"])
      .on("AT+CGMR", ["mfw_nrf9160_1.3.5"])
      .on("AT+CGMM", ["nRF9160-SICA"])
      .on("AT%ATTESTTOKEN", [attestLine]);
    expect(await readIdentity(at)).toEqual({
      imei: "352656100367872",
      model: "nRF9160-SICA",
      firmware: "mfw_nrf9160_1.3.5",
      firmwareVersion: { major: 1, minor: 3, patch: 5 },
      deviceUuid: "50363154-3931-44f0-8022-121b6401627d",
    });
  });
});
