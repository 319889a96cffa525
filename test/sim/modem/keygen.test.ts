import { createPublicKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  assertKeygenTrusted,
  parseAttestationToken,
  parseKeygenOutput,
  verifyAttestation,
} from "../../../src/attest/index.js";
import { connectSim, opensslVerifiesCsr } from "./helpers.js";

async function offline(reader: ReturnType<typeof connectSim>["reader"]) {
  expect(await reader.send("AT+CMEE=1")).toEqual(["OK"]);
  expect(await reader.send("AT+CFUN=4")).toEqual(["OK"]);
}

describe("simulated %KEYGEN", () => {
  it("produces a CSR that parses, matches its digest, verifies (also with openssl) and is attested", async () => {
    const { modem, reader } = connectSim();
    await offline(reader);
    const lines = await reader.send("AT%KEYGEN=16842753,2,0");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe("OK");
    expect(lines[0]).toMatch(/^%KEYGEN: "[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"$/);
    const out = parseKeygenOutput(lines.join("\r\n"));
    expect(out).toMatchObject({
      kind: "csr",
      deviceUuid: modem.deviceUuid,
      secTag: 16842753,
      messageType: 9,
      digestStatus: "match",
      keyId: -2,
    });
    expect(out.csr).toMatchObject({
      subject: `CN=${modem.deviceUuid}`,
      commonName: modem.deviceUuid,
      signatureValid: true,
    });
    // Like real modems: explicit NULL in the outer signatureAlgorithm, keyUsage 03 02 03 e8.
    const der = Buffer.from(out.der);
    expect(der.includes(Buffer.from("300c06082a8648ce3d0403020500", "hex"))).toBe(true);
    expect(der.includes(Buffer.from("0603551d0f0404030203e8", "hex"))).toBe(true);
    expect(opensslVerifiesCsr(out.pem)).toBe(true);
    expect(() => assertKeygenTrusted(out, { secTag: 16842753 })).not.toThrow();
    expect(verifyAttestation(out, modem.identityPublicKeyPem)).toBe(true);
    // COSE layout of nrf91-at.md §4.3.
    expect(Buffer.from(out.cose.subarray(0, 10)).toString("hex")).toBe("d28443a10126a1044121");
    // The key is stored in the sec tag as type 2; its hash is listed but not predictable.
    expect(await reader.send("AT%CMNG=1,16842753")).toEqual([
      expect.stringMatching(/^%CMNG: 16842753,2,"[0-9A-F]{64}"$/),
      "OK",
    ]);
  });

  it("uses the given attributes and key usage bits", async () => {
    const { reader } = connectSim();
    await offline(reader);
    const lines = await reader.send(
      'AT%KEYGEN=42,2,0,"CN=nrf-355025930000000,O=Nordic Semiconductor,C=NO","101010000"',
    );
    const out = parseKeygenOutput(lines.join("\n"));
    expect(out.csr?.subject).toBe("CN=nrf-355025930000000, O=Nordic Semiconductor, C=NO");
    expect(out.csr?.commonName).toBe("nrf-355025930000000");
    // Bits 0, 2, 4 → 1010 1000 with 3 unused bits.
    expect(Buffer.from(out.der).includes(Buffer.from("0603551d0f0404030203a8", "hex"))).toBe(true);
    expect(opensslVerifiesCsr(out.pem)).toBe(true);
    expect(await reader.send('AT%KEYGEN=42,2,0,"XX=1"')).toEqual(["+CME ERROR: 50"]);
  });

  it("content 1 returns the public key; key type 8 creates the endorsement key once, then reuses it", async () => {
    const { modem, reader } = connectSim();
    await offline(reader);
    const csr = parseKeygenOutput((await reader.send("AT%KEYGEN=7,2,0")).join("\n"));
    const pub = parseKeygenOutput((await reader.send("AT%KEYGEN=7,8,1")).join("\n"));
    expect(pub).toMatchObject({
      kind: "public-key",
      messageType: 8,
      secTag: 7,
      digestStatus: "match",
    });
    expect(createPublicKey(pub.pem).asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(verifyAttestation(pub, modem.identityPublicKeyPem)).toBe(true);
    // The endorsement key is its own key (type 8), not the client key (type 2) …
    expect(pub.publicKeyPem).not.toBe(csr.publicKeyPem);
    expect(modem.credentials().map(({ secTag, type }) => [secTag, type])).toEqual([
      [7, 2],
      [7, 8],
    ]);
    // … and asking again returns the same one.
    const endorsement = parseKeygenOutput((await reader.send("AT%KEYGEN=7,8,0")).join("\n"));
    expect(endorsement.publicKeyPem).toBe(pub.publicKeyPem);
    // Type 2 again makes a new key.
    const again = parseKeygenOutput((await reader.send("AT%KEYGEN=7,2,1")).join("\n"));
    expect(again.publicKeyPem).not.toBe(csr.publicKeyPem);
  });

  it("refuses in active mode (518), on reserved sec tags (514), and with bad parameters", async () => {
    const { reader } = connectSim();
    expect(await reader.send("AT%KEYGEN=16,2,0")).toEqual(["ERROR"]); // CMEE=0: plain ERROR
    expect(await reader.send("AT+CMEE=1")).toEqual(["OK"]);
    expect(await reader.send("AT+CFUN?")).toEqual(["+CFUN: 1", "OK"]);
    expect(await reader.send("AT%KEYGEN=16,2,0")).toEqual(["+CME ERROR: 518"]);
    expect(await reader.send("AT+CFUN=4")).toEqual(["OK"]);
    expect(await reader.send("AT%KEYGEN=2147483648,2,0")).toEqual(["+CME ERROR: 514"]);
    expect(await reader.send("AT%KEYGEN=16,3,0")).toEqual(["ERROR"]);
    expect(await reader.send("AT%KEYGEN=16,2,2")).toEqual(["ERROR"]);
    expect(await reader.send('AT%KEYGEN=16,2,0,"CN=x","12"')).toEqual(["+CME ERROR: 50"]);
  });

  it("corruptKeygenDigest fault → ERR_KEYGEN_DIGEST from assertKeygenTrusted", async () => {
    const { modem, reader } = connectSim({ faults: { corruptKeygenDigest: true } });
    await offline(reader);
    const out = parseKeygenOutput((await reader.send("AT%KEYGEN=16,2,0")).join("\n"));
    expect(out.digestStatus).toBe("mismatch");
    expect(out.csr?.signatureValid).toBe(true);
    expect(verifyAttestation(out, modem.identityPublicKeyPem)).toBe(true);
    expect(() => assertKeygenTrusted(out)).toThrowError(
      expect.objectContaining({ code: "ERR_KEYGEN_DIGEST" }),
    );
  });
});

describe("simulated %ATTESTTOKEN", () => {
  it("returns a device identity token signed by the identity key", async () => {
    const { modem, reader } = connectSim({ model: "nRF9151-LACA", firmware: "mfw_nrf91x1_2.0.2" });
    const token = parseAttestationToken((await reader.send("AT%ATTESTTOKEN")).join("\n"));
    expect(token).toMatchObject({
      deviceUuid: modem.deviceUuid,
      deviceType: 6,
      deviceTypeName: "nRF9151 LACA",
      messageType: 1,
    });
    const [xmodemuuid] = await reader.send("AT%XMODEMUUID");
    expect(xmodemuuid).toBe(`%XMODEMUUID: ${token.modemFirmwareUuid}`);
    expect(verifyAttestation(token, modem.identityPublicKeyPem)).toBe(true);
    expect(verifyAttestation(token, connectSim().modem.identityPublicKeyPem)).toBe(false);
  });

  it("uses a given challenge as the nonce", async () => {
    const { reader } = connectSim();
    const nonce = "00112233445566778899aabbccddeeff";
    const token = parseAttestationToken(
      (await reader.send(`AT%ATTESTTOKEN="${nonce}"`)).join("\n"),
    );
    expect(token.nonce).toBe(nonce);
    expect(await reader.send('AT%ATTESTTOKEN="zz"')).toEqual(["ERROR"]);
  });
});
