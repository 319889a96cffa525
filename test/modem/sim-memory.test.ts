import { verify } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { AtClient, AtClientOptions } from "../../src/at/index.js";
import { verifyAttestation } from "../../src/attest/index.js";
import {
  checkFirmwareSupportsKeygen,
  deleteCredential,
  getFunctionalMode,
  keygen,
  listCredentials,
  modemJwt,
  readCredential,
  readIdentity,
  withOfflineMode,
  writeCredential,
} from "../../src/modem/index.js";
import type { SimModemOptions } from "../../src/sim/modem/index.js";
import { amazonRootCa } from "../sim-link.js";
import { readVector } from "../vectors.js";
import { connectSim, type SimConnection } from "./sim-harness.js";

const deviceCert = readVector("device_cert_2021_from_modem_csr_uuid50363154-3932.pem");
const SEC_TAG = 16842753;

let connection: SimConnection | undefined;
afterEach(async () => {
  await connection?.at.close();
  connection = undefined;
});

async function connect(
  options: SimModemOptions = {},
  clientOptions: AtClientOptions = { mode: "at" },
): Promise<SimConnection> {
  connection = await connectSim(options, clientOptions);
  return connection;
}

/** What provisioning does on the modem: identity, then offline keygen and two writes. */
async function provisionSequence(at: AtClient) {
  const identity = await readIdentity(at);
  checkFirmwareSupportsKeygen(identity.firmware);
  const writes = await withOfflineMode(at, async () => {
    const csr = await keygen(at, { secTag: SEC_TAG, content: "csr" });
    const root = await writeCredential(at, {
      secTag: SEC_TAG,
      type: 0,
      content: amazonRootCa,
      firmware: identity.firmware,
    });
    const cert = await writeCredential(at, {
      secTag: SEC_TAG,
      type: 1,
      content: deviceCert,
      firmware: identity.firmware,
    });
    return { csr, root, cert };
  });
  return { identity, ...writes };
}

describe("modem operations against the simulated modem (in memory)", () => {
  it("reads the identity the simulator was given", async () => {
    const { at, modem } = await connect({ model: "nRF9151-LACA", firmware: "mfw_nrf91x1_2.0.2" });
    expect(await readIdentity(at)).toEqual({
      imei: modem.imei,
      model: "nRF9151-LACA",
      firmware: "mfw_nrf91x1_2.0.2",
      firmwareVersion: { major: 2, minor: 0, patch: 2 },
      deviceUuid: modem.deviceUuid,
    });
    expect(await getFunctionalMode(at)).toBe(1);
  });

  it("runs keygen + two credential writes offline and restores the mode", async () => {
    const { at, modem } = await connect();
    const result = await provisionSequence(at);
    expect(result.csr.kind).toBe("csr");
    expect(result.csr.csr?.commonName).toBe(modem.deviceUuid);
    expect(result.csr.csr?.signatureValid).toBe(true);
    expect(verifyAttestation(result.csr, modem.identityPublicKeyPem)).toBe(true);
    expect(result.root).toMatchObject({ verified: true, verification: "hash" });
    expect(result.root.sha256).toBe(
      "2c43952ee9e000ff2acc4e2ed0897c0a72ad5fa72c3d934e81741cbd54f05bd1",
    );
    expect(result.cert.verification).toBe("hash");
    expect(modem.functionalMode).toBe(1);
    const stored = modem.credentials().filter((c) => c.secTag === SEC_TAG);
    expect(stored.map((c) => c.type)).toEqual([0, 1, 2]);
    expect(stored[0]?.content).toBe(amazonRootCa);
    expect(stored[0]?.sha256.toLowerCase()).toBe(result.root.sha256);
    const listed = await listCredentials(at, { secTag: SEC_TAG });
    expect(listed.map((c) => c.typeName)).toEqual(["root-ca", "client-cert", "client-key"]);
  });

  it("generates a public key and a CSR with the requested CN", async () => {
    const { at, modem } = await connect({ functionalMode: 4 });
    const publicKey = await keygen(at, { secTag: 16, content: "public-key" });
    expect(publicKey.kind).toBe("public-key");
    expect(publicKey.pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const csr = await keygen(at, {
      secTag: 17,
      content: "csr",
      attributes: `CN=nrf-${modem.imei}`,
    });
    expect(csr.csr?.commonName).toBe(`nrf-${modem.imei}`);
    expect(csr.deviceUuid).toBe(modem.deviceUuid);
  });

  it("deletes credentials, tolerating a missing one only when asked", async () => {
    const { at, modem } = await connect({ functionalMode: 4 });
    await writeCredential(at, { secTag: 5, type: 0, content: amazonRootCa });
    expect(await deleteCredential(at, { secTag: 5, type: 0 })).toBe(true);
    expect(modem.credentials()).toEqual([]);
    expect(await deleteCredential(at, { secTag: 5, type: 0, ignoreMissing: true })).toBe(false);
    await expect(deleteCredential(at, { secTag: 5, type: 0 })).rejects.toMatchObject({
      code: "ERR_AT_CME",
      details: { cme: 513 },
    });
  });

  it("verifies by presence on firmware that lists no hashes", async () => {
    const { at } = await connect({ firmware: "mfw_nrf9160_1.3.1", functionalMode: 4 });
    const result = await writeCredential(at, {
      secTag: 5,
      type: 0,
      content: amazonRootCa,
      firmware: "mfw_nrf9160_1.3.1",
    });
    expect(result.verification).toBe("presence");
    expect((await listCredentials(at))[0]?.sha256).toBeNull();
  });

  it("refuses a write to an online modem with the modem's reason, storing nothing", async () => {
    const { at, modem } = await connect();
    await expect(writeCredential(at, { secTag: 5, type: 0, content: "x" })).rejects.toMatchObject({
      code: "ERR_AT_CME",
      details: { cme: 518 },
      message: expect.stringMatching(/AT\+CFUN=4/),
    });
    expect(modem.credentials()).toEqual([]);
  });

  it("signs a JWT with the modem's identity key when the modem knows the time", async () => {
    const { at, modem } = await connect({ clock: () => Date.UTC(2026, 0, 1) });
    const jwt = await modemJwt(at, { lifetimeSeconds: 600, subject: "test" });
    expect(jwt.header.alg).toBe("ES256");
    expect(jwt.claims.sub).toBe("test");
    expect(String(jwt.claims.iss)).toContain(modem.deviceUuid);
    expect(Number(jwt.claims.exp) - Number(jwt.claims.iat)).toBe(600);
  });

  it("signs a JWT with a generated client key that verifies with the CSR's public key", async () => {
    const { at } = await connect({ functionalMode: 4, clock: () => Date.UTC(2026, 0, 1) });
    const csr = await keygen(at, { secTag: 9, content: "csr" });
    const jwt = await modemJwt(at, { secTag: 9, lifetimeSeconds: 60 });
    const [header, payload, signature] = jwt.token.split(".") as [string, string, string];
    const valid = verify(
      "sha256",
      Buffer.from(`${header}.${payload}`),
      { key: csr.publicKeyPem, dsaEncoding: "ieee-p1363" },
      Buffer.from(signature, "base64url"),
    );
    expect(valid).toBe(true);
  });

  it("reads back a root CA exactly as written", async () => {
    const { at } = await connect({ functionalMode: 4 });
    await writeCredential(at, { secTag: 5, type: 0, content: amazonRootCa });
    const stored = await readCredential(at, { secTag: 5, type: 0 });
    expect(stored.content).toBe(amazonRootCa);
    expect(stored.typeName).toBe("root-ca");
  });

  it("reports a modem without time", async () => {
    const { at } = await connect();
    await expect(modemJwt(at)).rejects.toMatchObject({ code: "ERR_MODEM_TIME_UNKNOWN" });
  });
});

describe("failures leave the credential store untouched", () => {
  // Step that fails → the error, and what the store holds afterwards (only what earlier steps
  // wrote: the keygen key before the first write, the root CA before its verification …).
  it.each([
    ["AT+CGSN", "ERR_AT_CME", []],
    ["AT+CGMM", "ERR_AT_CME", []],
    ["AT+CGMR", "ERR_AT_CME", []],
    ["AT%ATTESTTOKEN", "ERR_AT_CME", []],
    ["AT+CFUN?", "ERR_AT_CME", []],
    ["AT+CFUN=4", "ERR_AT_CME", []],
    ["AT%KEYGEN", "ERR_AT_CME", []],
    ["AT%CMNG=0", "ERR_AT_CME", [2]],
    ["AT%CMNG=1", "ERR_AT_CME", [0, 2]],
    ["AT+CFUN=1", "ERR_MODEM_CFUN_RESTORE", [0, 1, 2]],
  ])("+CME ERROR on %s → %s", async (command, code, storedTypes) => {
    const { at, modem } = await connect({ faults: { cmeOn: { [command]: 515 } } });
    await expect(provisionSequence(at)).rejects.toMatchObject({
      code,
      message: expect.stringContaining(command),
      ...(code === "ERR_AT_CME" ? { details: { cme: 515 } } : {}),
    });
    if (code === "ERR_AT_CME") expect(modem.functionalMode).toBe(1);
    expect(modem.credentials().map((c) => c.type)).toEqual(storedTypes);
  });

  it("a stalled keygen times out, and the failed restore is reported with it", async () => {
    const { at, modem } = await connect(
      { faults: { stallCommand: "AT%KEYGEN" } },
      { mode: "at", defaultTimeoutMs: 200 },
    );
    await expect(
      withOfflineMode(at, () => keygen(at, { secTag: 7, content: "csr", timeoutMs: 200 })),
    ).rejects.toMatchObject({
      code: "ERR_MODEM_CFUN_RESTORE",
      details: {
        operationError: { code: "ERR_AT_TIMEOUT" },
        restoreError: { code: "ERR_AT_TIMEOUT" },
      },
      message: expect.stringMatching(/AT%KEYGEN.*within 200 ms.*restoring functional mode 1/),
    });
    expect(modem.credentials()).toEqual([]);
  });

  it("a stalled identity read times out with the command named", async () => {
    const { at, modem } = await connect(
      { faults: { stallCommand: "AT+CGMR" } },
      { mode: "at", defaultTimeoutMs: 200 },
    );
    await expect(provisionSequence(at)).rejects.toMatchObject({
      code: "ERR_AT_TIMEOUT",
      details: { command: "AT+CGMR" },
    });
    expect(modem.credentials()).toEqual([]);
  });

  it("an unplugged board fails the write at once and stores nothing", async () => {
    const { at, modem } = await connect({ functionalMode: 4, faults: { dropAfterBytes: 400 } });
    await expect(
      writeCredential(at, { secTag: 5, type: 0, content: amazonRootCa }),
    ).rejects.toMatchObject({ code: "ERR_AT_DISCONNECTED" });
    expect(modem.credentials()).toEqual([]);
    await expect(readIdentity(at)).rejects.toMatchObject({ code: "ERR_AT_DISCONNECTED" });
  });

  it("an unplugged board during offline work reports the disconnect, not the restore", async () => {
    const { at, modem, host } = await connect({ faults: { stallCommand: "AT%KEYGEN" } });
    const pending = expect(
      withOfflineMode(at, () => keygen(at, { secTag: 7, content: "csr" })),
    ).rejects.toMatchObject({
      code: "ERR_AT_DISCONNECTED",
      details: { command: "AT%KEYGEN=7,2,0" },
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    host.disconnect("cable pulled");
    await pending;
    expect(modem.credentials()).toEqual([]);
  });

  it("a credential too long for one AT command is refused with the reason", async () => {
    const { at, modem } = await connect({ functionalMode: 4 });
    const bundle = amazonRootCa.repeat(4);
    await expect(
      writeCredential(at, { secTag: 5, type: 0, content: bundle }),
    ).rejects.toMatchObject({
      code: "ERR_MODEM_CREDENTIAL_TOO_LONG",
      message: expect.stringMatching(/credential is 4752 bytes.*up to 4095 bytes/),
      cause: { code: "ERR_AT_COMMAND_TOO_LONG" },
    });
    expect(modem.credentials()).toEqual([]);
  });

  it("a corrupted keygen digest is refused and the mode restored", async () => {
    const { at, modem } = await connect({ faults: { corruptKeygenDigest: true } });
    await expect(provisionSequence(at)).rejects.toMatchObject({ code: "ERR_KEYGEN_DIGEST" });
    expect(modem.functionalMode).toBe(1);
    expect(modem.credentials().filter((c) => c.type !== 2)).toEqual([]);
  });

  it("firmware older than 1.3.0 is refused before the modem is touched", async () => {
    const { at, modem } = await connect({ firmware: "mfw_nrf9160_1.2.3" });
    await expect(provisionSequence(at)).rejects.toMatchObject({
      code: "ERR_MODEM_FIRMWARE_TOO_OLD",
    });
    expect(modem.functionalMode).toBe(1);
    expect(modem.credentials()).toEqual([]);
  });
});

describe("noisy and shell-mode links", () => {
  it("keeps URCs and log lines out of every response", async () => {
    const { at, modem } = await connect({ noise: { intervalMs: 1 } });
    const urcs: string[] = [];
    at.onUrc((line) => urcs.push(line));
    const pending = provisionSequence(at);
    modem.injectUrc("+CEREG: 5");
    modem.injectUrc("[00:00:28.460,540] <inf> asset_tracker: RRC mode: Connected");
    const result = await pending;
    expect(result.identity.imei).toBe(modem.imei);
    expect(result.identity.firmware).toBe("mfw_nrf9160_1.3.5");
    expect(result.root.verification).toBe("hash");
    expect(urcs).toContain("+CEREG: 5");
    expect(urcs.length).toBeGreaterThan(2);
  });

  it("works through shell firmware (auto-detected), verifying the stored hash", async () => {
    const { at, modem } = await connect({ shellMode: true }, { mode: "auto" });
    expect(at.mode).toBe("shell");
    const result = await provisionSequence(at);
    expect(result.identity.imei).toBe(modem.imei);
    expect(result.root.verification).toBe("hash");
    // The firmware stores CR LF line breaks, and the hash the project verified is theirs.
    const root = modem.credentials().find((c) => c.type === 0);
    expect(root?.content).toBe(amazonRootCa.replaceAll("\n", "\r\n"));
    expect(result.root.sha256.toUpperCase()).toBe(root?.sha256);
  });
});
