import { describe, expect, it } from "vitest";
import { jwtCommand, modemJwt } from "../../src/modem/index.js";
import { ScriptedAtClient } from "./scripted-at-client.js";

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");

describe("jwtCommand", () => {
  it("builds the command with optional parts", () => {
    expect(jwtCommand()).toBe("AT%JWT=0,0");
    expect(jwtCommand({ lifetimeSeconds: 3600, subject: "dev" })).toBe('AT%JWT=0,3600,"dev"');
    expect(jwtCommand({ secTag: 16842753 })).toBe("AT%JWT=0,0,,,16842753,2");
    expect(jwtCommand({ secTag: 5, keyType: 8, audience: "a" })).toBe('AT%JWT=0,0,,"a",5,8');
  });

  it("refuses quotes and control characters in claims", () => {
    expect(() => jwtCommand({ subject: 'a"b' })).toThrow(/contains "/);
    expect(() => jwtCommand({ audience: "a\nb" })).toThrow(/0x0a/);
  });
});

describe("modemJwt", () => {
  it("normalises standard base64 to base64url and decodes header and claims", async () => {
    const header = { alg: "ES256", typ: "JWT" };
    const claims = { iss: "nRF9160.uuid", sub: "dev>?~", exp: 1700000000 };
    const raw = `${b64(header)}.${b64(claims)}.ab+/cd==`;
    const at = new ScriptedAtClient()
      .on("AT+CCLK?", ['+CCLK: "24/01/01,00:00:00+00"'])
      .on(/^AT%JWT/, [`%JWT: "${raw}"`]);
    const jwt = await modemJwt(at, { subject: "dev>?~" });
    expect(jwt.token).not.toMatch(/[+/=]/);
    expect(jwt.token.split(".")[2]).toBe("ab-_cd");
    expect(jwt.header).toEqual(header);
    expect(jwt.claims).toEqual(claims);
    expect(jwt.token.split(".")[1]).toBe(Buffer.from(JSON.stringify(claims)).toString("base64url"));
  });

  it("reports a modem without time before asking for the JWT", async () => {
    const at = new ScriptedAtClient();
    await expect(modemJwt(at)).rejects.toMatchObject({ code: "ERR_MODEM_TIME_UNKNOWN" });
    expect(at.commands).toEqual(["AT+CCLK?"]);
  });
});
