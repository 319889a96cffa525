import { describe, expect, it } from "vitest";
import { AtError } from "../../src/at/index.js";
import {
  credentialPayload,
  credentialSha256,
  credentialTypeName,
  deleteCredential,
  listCredentials,
  parseCredentialType,
  readCredential,
  writeCredential,
} from "../../src/modem/index.js";
import { AMAZON_ROOT_CA_SHA256, amazonRootCa } from "../sim-link.js";
import { ScriptedAtClient } from "./scripted-at-client.js";

// Listed by a real nRF9160 DK (mfw 1.3.5) after writing that PEM with LF endings.
const AMAZON_LISTED = AMAZON_ROOT_CA_SHA256;

/** A scripted modem with a credential store that hashes what it is sent, like mfw ≥ 1.3.2. */
function storeModem(
  options: { listHashes?: boolean; storeTransform?: (s: string) => string } = {},
) {
  const store = new Map<string, string>();
  const at = new ScriptedAtClient()
    .on(/^AT%CMNG=0,/s, (command) => {
      const match = /^AT%CMNG=0,(\d+),(\d+),"([^"]*)"$/s.exec(command)!;
      store.set(`${match[1]},${match[2]}`, (options.storeTransform ?? ((s) => s))(match[3]!));
      return [];
    })
    .on(/^AT%CMNG=1/, (command) => {
      const [, tag, type] = command.split(/[=,]/).slice(1).map(String);
      return [...store]
        .filter(([key]) => {
          const [t, y] = key.split(",");
          return (tag === undefined || t === tag) && (type === undefined || y === type);
        })
        .map(([key, content]) =>
          options.listHashes === false
            ? `%CMNG: ${key}`
            : `%CMNG: ${key},"${credentialSha256(content).toUpperCase()}"`,
        );
    });
  return { at, store };
}

describe("credential types", () => {
  it("names the documented types and parses names or numbers", () => {
    expect(credentialTypeName(0)).toBe("root-ca");
    expect(credentialTypeName(6)).toBe("device-identity-public-key");
    expect(credentialTypeName(8)).toBe("endorsement-key");
    expect(credentialTypeName(7)).toBe("type-7");
    expect(parseCredentialType("client-cert")).toBe(1);
    expect(parseCredentialType("2")).toBe(2);
    expect(() => parseCredentialType("private-key")).toThrow(/root-ca, client-cert/);
  });
});

describe("listCredentials", () => {
  it("parses hashes, leaves out modem-reserved tags, and works without hashes", async () => {
    const at = new ScriptedAtClient().on("AT%CMNG=1", [
      `%CMNG: 16842753,0,"${AMAZON_LISTED}"`,
      "%CMNG: 16842753,2",
      `%CMNG: 2147483648,0,"${AMAZON_LISTED}"`,
      `%CMNG: 4294967292,6,"${AMAZON_LISTED}"`,
    ]);
    expect(await listCredentials(at)).toEqual([
      { secTag: 16842753, type: 0, typeName: "root-ca", sha256: AMAZON_LISTED.toLowerCase() },
      { secTag: 16842753, type: 2, typeName: "client-key", sha256: null },
    ]);
  });

  it("narrows by sec tag and type in the command", async () => {
    const at = new ScriptedAtClient().on(/^AT%CMNG=1/, []);
    await listCredentials(at, { secTag: 42, type: 1 });
    await listCredentials(at, { secTag: 42 });
    expect(at.commands).toEqual(["AT%CMNG=1,42,1", "AT%CMNG=1,42"]);
    expect(at.sent[0]?.options?.responsePrefix).toBe("%CMNG:");
  });

  it("rejects a line it cannot read", async () => {
    const at = new ScriptedAtClient().on("AT%CMNG=1", ["%CMNG: garbage"]);
    await expect(listCredentials(at)).rejects.toMatchObject({
      code: "ERR_MODEM_UNEXPECTED_RESPONSE",
    });
  });
});

describe("writeCredential", () => {
  it("a listing line for another sec tag does not verify the requested one", async () => {
    // A modem that ignores the tag filter and lists what sec tag 7 holds (the same bytes).
    const at = new ScriptedAtClient()
      .on(/^AT%CMNG=0,/s, [])
      .on(/^AT%CMNG=1/, [`%CMNG: 7,0,"${AMAZON_LISTED}"`]);
    await expect(
      writeCredential(at, {
        secTag: 42,
        type: 0,
        content: amazonRootCa,
        firmware: "mfw_nrf9160_1.3.5",
      }),
    ).rejects.toMatchObject({ message: expect.stringContaining("is not listed") });
    expect(await listCredentials(at, { secTag: 42 })).toEqual([]);
  });

  it("writes the Amazon Root CA with LF and verifies the hash a real modem lists", async () => {
    const { at, store } = storeModem();
    const result = await writeCredential(at, {
      secTag: 16842753,
      type: 0,
      content: amazonRootCa.replace(/\n/g, "\r\n"),
      firmware: "mfw_nrf9160_1.3.5",
    });
    expect(result).toEqual({
      sha256: AMAZON_LISTED.toLowerCase(),
      bytes: 1188,
      verified: true,
      verification: "hash",
    });
    expect(store.get("16842753,0")).toBe(amazonRootCa);
    expect(at.commands[1]).toBe("AT%CMNG=1,16842753,0");
  });

  it("hashes the exact bytes sent when CRLF is asked for", async () => {
    const { at, store } = storeModem();
    const result = await writeCredential(at, {
      secTag: 1,
      type: 0,
      content: amazonRootCa,
      lineEndings: "crlf",
    });
    const sent = store.get("1,0")!;
    expect(sent).toBe(amazonRootCa.replace(/\n/g, "\r\n"));
    expect(result.sha256).toBe(credentialSha256(sent));
    expect(result.bytes).toBe(1188 + (amazonRootCa.match(/\n/g) ?? []).length);
  });

  it("reports a hash mismatch naming sec tag, type and both hashes", async () => {
    const { at } = storeModem({ storeTransform: (s) => s.replace(/\n/g, "\r\n") });
    const write = writeCredential(at, {
      secTag: 7,
      type: 1,
      content: amazonRootCa,
      firmware: "mfw_nrf9160_1.3.5",
    });
    await expect(write).rejects.toMatchObject({
      code: "ERR_MODEM_CREDENTIAL_VERIFY",
      message: expect.stringMatching(/sec tag 7 type client-cert/),
      details: {
        secTag: 7,
        type: 1,
        expected: AMAZON_LISTED.toLowerCase(),
        listed: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    });
    await expect(write).rejects.toThrow(AMAZON_LISTED.toLowerCase());
  });

  it("checks presence only on firmware older than 1.3.2", async () => {
    const { at } = storeModem({ listHashes: false });
    const result = await writeCredential(at, {
      secTag: 7,
      type: 1,
      content: "x",
      firmware: "mfw_nrf9160_1.3.1",
    });
    expect(result.verification).toBe("presence");
  });

  it("requires a hash when the caller says the firmware lists them", async () => {
    const { at } = storeModem({ listHashes: false });
    await expect(
      writeCredential(at, { secTag: 7, type: 1, content: "x", compareHash: true }),
    ).rejects.toMatchObject({ code: "ERR_MODEM_CREDENTIAL_VERIFY" });
  });

  it("fails verification when nothing is listed after the write", async () => {
    const at = new ScriptedAtClient().on(/^AT%CMNG=0/, []).on(/^AT%CMNG=1/, []);
    await expect(writeCredential(at, { secTag: 7, type: 1, content: "x" })).rejects.toMatchObject({
      code: "ERR_MODEM_CREDENTIAL_VERIFY",
      details: { listed: null },
    });
  });

  it("refuses reserved and negative sec tags and quotes before sending anything", async () => {
    const at = new ScriptedAtClient();
    for (const secTag of [2147483648, -1, 1.5]) {
      await expect(writeCredential(at, { secTag, type: 0, content: "x" })).rejects.toMatchObject({
        code: "ERR_MODEM_SEC_TAG",
      });
    }
    await expect(writeCredential(at, { secTag: 1, type: 0, content: 'a"b' })).rejects.toMatchObject(
      { code: "ERR_MODEM_CREDENTIAL_CONTENT" },
    );
    expect(at.commands).toEqual([]);
  });

  it("explains a command that is too long for the modem", async () => {
    const at = new ScriptedAtClient().on(/^AT%CMNG=0/, {
      fail: new AtError("ERR_AT_COMMAND_TOO_LONG", "too long", {
        details: { port: "scripted", command: "AT%CMNG=0" },
      }),
    });
    const content = "A".repeat(5000);
    await expect(writeCredential(at, { secTag: 1, type: 0, content })).rejects.toThrow(
      /credential is 5000 bytes.*up to 4095 bytes/,
    );
  });
});

describe("payload and hash", () => {
  it("converts CRLF to LF by default and keeps content when asked", () => {
    expect(credentialPayload("a\r\nb\n")).toBe("a\nb\n");
    expect(credentialPayload("a\r\nb\n", "crlf")).toBe("a\r\nb\r\n");
    expect(credentialPayload("a\r\nb\n", "keep")).toBe("a\r\nb\n");
    expect(credentialSha256(amazonRootCa)).toBe(AMAZON_LISTED.toLowerCase());
  });
});

describe("deleteCredential and readCredential", () => {
  it("treats CME 513 as nothing to delete only when asked", async () => {
    const at = new ScriptedAtClient().on("AT%CMNG=3,5,1", { cme: 513 }).on("AT%CMNG=3,5,0", []);
    expect(await deleteCredential(at, { secTag: 5, type: 0 })).toBe(true);
    expect(await deleteCredential(at, { secTag: 5, type: 1, ignoreMissing: true })).toBe(false);
    await expect(deleteCredential(at, { secTag: 5, type: 1 })).rejects.toMatchObject({
      code: "ERR_AT_CME",
    });
    await expect(deleteCredential(at, { secTag: 4294967292, type: 1 })).rejects.toMatchObject({
      code: "ERR_MODEM_SEC_TAG",
    });
  });

  it("reads multi-line content", async () => {
    const at = new ScriptedAtClient().on("AT%CMNG=2,16842753,0", [
      `%CMNG: 16842753,0,"${AMAZON_LISTED}","${amazonRootCa}"`,
    ]);
    expect(await readCredential(at, { secTag: 16842753, type: 0 })).toEqual({
      secTag: 16842753,
      type: 0,
      typeName: "root-ca",
      sha256: AMAZON_LISTED.toLowerCase(),
      content: amazonRootCa,
    });
  });
});
