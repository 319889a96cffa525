import { Crypto as PeculiarCrypto } from "@peculiar/webcrypto";
import { describe, expect, it } from "vitest";
import { parseKeygenOutput } from "../../src/attest/index.js";
import { issueDeviceCertificate, loadCa, parseCertificationRequest } from "../../src/ca/index.js";
import { readChildren, readSingle, Tag, wholeOf } from "../../src/der/index.js";
import { readVector } from "../vectors.js";
import { modemLikeCsr } from "./csr-factory.js";
import { opensslText, opensslVerify, PASSPHRASE, useTestCa } from "./helpers.js";

describe("issueDeviceCertificate", () => {
  const fixture = useTestCa();

  const csrVectors = [
    ["keygen_csr_sectag17_expected_csr_original.pem", "50363154-3931-44f0-8022-121b6401627d"],
    ["keygen_csr_sectag17_expected_csr_reencoded.pem", "50363154-3931-44f0-8022-121b6401627d"],
    ["keygen_csr_sectag1235_expected_csr.pem", "50343956-3037-4738-800d-1f29e0a0f7bf"],
    ["fixture_host_csr_cn_example-id.pem", "example-id"],
  ] as const;

  for (const [vector, deviceId] of csrVectors) {
    it(`issues a certificate openssl verifies for ${vector}`, async () => {
      const { ca, dir } = fixture;
      const certificate = await issueDeviceCertificate(ca, readVector(vector));
      expect(certificate.deviceId).toBe(deviceId);
      expect(certificate.pem).toMatch(
        /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----\n$/,
      );
      expect(await opensslVerify(ca.info.files.certificate, certificate.pem, dir)).toContain(
        ": OK",
      );
      const text = await opensslText(certificate.pem, dir);
      expect(text).toContain("Version: 3 (0x2)");
      expect(text).toContain(`CN = ${deviceId}`);
      expect(text).toContain("Signature Algorithm: ecdsa-with-SHA256");
      expect(text).toContain("NIST CURVE: P-256");
      expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
      expect(text).toMatch(/Key Usage: critical\s+Digital Signature\n/);
      expect(text).toMatch(/Extended Key Usage: \s*\n\s+TLS Web Client Authentication/);
      expect(text).toContain("X509v3 Subject Key Identifier");
      expect(text).toContain("X509v3 Authority Key Identifier");
      expect(text.replace(/\s+/g, " ")).toContain(
        `Serial Number: ${certificate.serialNumber.match(/../g)!.join(":")}`,
      );
      const [entry] = await ca.ledger.find({ serialNumber: certificate.serialNumber });
      expect(entry).toMatchObject({
        deviceId,
        sha256Fingerprint: certificate.sha256Fingerprint,
        notAfter: certificate.notAfter.toISOString(),
        pem: certificate.pem,
      });
      expect(entry!.source).toMatch(/^csr-sha256:[0-9a-f]{64}$/);
    });
  }

  it("copies the subject byte for byte (the modem's UTF8String CN)", async () => {
    const { ca } = fixture;
    const certificate = await issueDeviceCertificate(
      ca,
      readVector("keygen_csr_sectag17_expected_csr_original.pem"),
    );
    const cn = Buffer.from("50363154-3931-44f0-8022-121b6401627d");
    // 0x0c = UTF8String, as in the CSR; a re-encoding library might pick PrintableString.
    expect(
      Buffer.from(certificate.der).includes(Buffer.concat([Buffer.of(0x0c, cn.length), cn])),
    ).toBe(true);
  });

  it("issues from AT%KEYGEN output of every CSR vector and refuses the others precisely", async () => {
    const { ca, dir } = fixture;
    const good = [
      ["keygen_csr_sectag17_uuid50363154.txt", "50363154-3931-44f0-8022-121b6401627d"],
      ["keygen_csr_sectag42_uuid50363154-3932_2021_thingy91.txt", undefined],
      ["serial_keygen_response_sectag52_uuid50363953.txt", "50363953-3234-4723-80b9-1503d88271bf"],
    ] as const;
    for (const [vector, deviceId] of good) {
      const output = parseKeygenOutput(readVector(vector));
      const certificate = await issueDeviceCertificate(ca, output);
      if (deviceId) expect(certificate.deviceId).toBe(deviceId);
      expect(await opensslVerify(ca.info.files.certificate, certificate.pem, dir)).toContain(
        ": OK",
      );
      const [entry] = await ca.ledger.find({ serialNumber: certificate.serialNumber });
      expect(entry!.source).toBe(
        `keygen:${output.deviceUuid}:sec-tag-${output.secTag}:sha256:${output.digest}`,
      );
    }
    const normalized = parseKeygenOutput(readVector("keygen_csr_sectag1235_body_normalized.txt"));
    await expect(issueDeviceCertificate(ca, normalized)).rejects.toMatchObject({
      code: "ERR_KEYGEN_DIGEST_NORMALIZED",
    });
    const publicKey = parseKeygenOutput(readVector("keygen_pubkey_sectag16_uuid50363154.txt"));
    await expect(issueDeviceCertificate(ca, publicKey)).rejects.toMatchObject({
      code: "ERR_CSR_MALFORMED",
      message: expect.stringContaining("public key, not a CSR"),
    });
  });

  it("refuses KEYGEN output whose body does not match its COSE digest (ERR_KEYGEN_DIGEST)", async () => {
    const { ca } = fixture;
    const blob = readVector("keygen_csr_sectag17_uuid50363154.txt").trim();
    const [body, cose] = blob.split(".") as [string, string];
    // Change one base64url character inside the CSR's signature (the CSR still parses).
    const at = body.length - 10;
    const tampered = `${body.slice(0, at)}${body[at] === "A" ? "B" : "A"}${body.slice(at + 1)}.${cose}`;
    await expect(issueDeviceCertificate(ca, parseKeygenOutput(tampered))).rejects.toMatchObject({
      code: "ERR_KEYGEN_DIGEST",
    });
  });

  it("refuses bad CSRs before signing, and records nothing for them", async () => {
    const { ca } = fixture;
    const before = ca.ledger.knownCount;
    await expect(
      issueDeviceCertificate(ca, modemLikeCsr("x", { breakSignature: true }).der),
    ).rejects.toMatchObject({ code: "ERR_CSR_SIGNATURE" });
    await expect(issueDeviceCertificate(ca, modemLikeCsr("has space").pem)).rejects.toMatchObject({
      code: "ERR_CSR_DEVICE_ID",
    });
    await expect(
      issueDeviceCertificate(ca, modemLikeCsr("b".repeat(65)).pem),
    ).rejects.toMatchObject({ code: "ERR_CSR_DEVICE_ID" });
    await expect(
      issueDeviceCertificate(ca, modemLikeCsr("nrf-1").pem, { deviceId: "nrf-2" }),
    ).rejects.toMatchObject({ code: "ERR_CSR_DEVICE_ID_MISMATCH" });
    await expect(issueDeviceCertificate(ca, "not a csr")).rejects.toMatchObject({
      code: "ERR_CSR_MALFORMED",
    });
    expect(ca.ledger.knownCount).toBe(before);
  });

  it("honours --days, backdates notBefore and never outlives the CA", async () => {
    const { ca } = fixture;
    const start = Date.now();
    const short = await issueDeviceCertificate(ca, modemLikeCsr("days-30").der, { days: 30 });
    expect(short.notAfter.getTime() - short.notBefore.getTime()).toBe(30 * 86_400_000 + 5 * 60_000);
    expect(short.notBefore.getTime()).toBeLessThanOrEqual(start - 5 * 60_000 + 1000);
    const long = await issueDeviceCertificate(ca, modemLikeCsr("days-max").der, { days: 36_500 });
    expect(long.notAfter).toEqual(ca.info.notAfter);
  });

  it("issues a v1 certificate without extensions with --profile minimal", async () => {
    const { ca, dir } = fixture;
    const certificate = await issueDeviceCertificate(ca, modemLikeCsr("minimal-1").der, {
      profile: "minimal",
    });
    expect(await opensslVerify(ca.info.files.certificate, certificate.pem, dir)).toContain(": OK");
    const text = await opensslText(certificate.pem, dir);
    expect(text).toContain("Version: 1 (0x0)");
    expect(text).not.toContain("X509v3");
  });

  it("refuses to issue once the CA has expired", async () => {
    const { ca } = fixture;
    let now = Date.now();
    const clocked = await loadCa({
      dir: ca.info.dir,
      passphrase: PASSPHRASE,
      clock: () => new Date(now),
    });
    try {
      now = ca.info.notAfter.getTime() + 1000;
      await expect(issueDeviceCertificate(clocked, modemLikeCsr("late").der)).rejects.toMatchObject(
        { code: "ERR_CA_EXPIRED" },
      );
    } finally {
      await clocked.close();
    }
  });

  it("signs through a plugged-in WebCrypto provider (@peculiar/webcrypto)", async () => {
    const { ca, dir } = fixture;
    const provider = new PeculiarCrypto() as unknown as Crypto;
    const viaProvider = await loadCa({
      dir: ca.info.dir,
      passphrase: PASSPHRASE,
      crypto: provider,
    });
    try {
      expect(viaProvider.usesNodeCrypto).toBe(false);
      for (const id of ["webcrypto-1", "webcrypto-2", "webcrypto-3"]) {
        const certificate = await issueDeviceCertificate(viaProvider, modemLikeCsr(id).der);
        expect(await opensslVerify(ca.info.files.certificate, certificate.pem, dir)).toContain(
          ": OK",
        );
      }
    } finally {
      await viaProvider.close();
    }
  });
  it("encodes any serial magnitude as a minimal positive INTEGER in the TBSCertificate", () => {
    const { ca } = fixture;
    const csr = parseCertificationRequest(modemLikeCsr("serials-1").der);
    const cases: Array<[number[], string]> = [
      [[0x00, 0x00, 0x80, 0x01], "0203008001"],
      [[0x00, 0x01], "020101"],
      [[0xff], "020200ff"],
      [[0x40, 0x02], "02024002"],
    ];
    for (const [magnitude, expected] of cases) {
      for (const profile of ["default", "minimal"] as const) {
        const tbs = ca.template.buildTbs({
          serial: Uint8Array.from(magnitude),
          notBefore: new Date("2026-01-01T00:00:00Z"),
          notAfter: new Date("2060-01-01T00:00:00Z"),
          subjectDer: csr.subjectDer,
          spkiDer: csr.spkiDer,
          publicKeyBits: csr.publicKeyBits,
          profile,
        });
        const fields = readChildren(tbs, readSingle(tbs, Tag.SEQUENCE, "TBSCertificate"));
        const serial = fields[profile === "default" ? 1 : 0]!;
        expect(Buffer.from(wholeOf(tbs, serial)).toString("hex")).toBe(expected);
        const validity = fields[profile === "default" ? 4 : 3]!;
        expect(Buffer.from(wholeOf(tbs, validity)).toString("latin1")).toBe(
          "0\x20\x17\x0d260101000000Z\x18\x0f20600101000000Z",
        );
      }
    }
  });
});
