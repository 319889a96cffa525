import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCliCaptured } from "../cli/harness.js";
import { readVector } from "../vectors.js";

function run(argv: string[], stdinText?: string) {
  return runCliCaptured(argv, { input: stdinText ?? "" });
}

describe("nrf-provision parse", () => {
  it("parse keygen prints the fields, the CSR and the public key", async () => {
    const { code, out } = await run([
      "parse",
      "keygen",
      readVector("keygen_csr_sectag17_uuid50363154.txt").trim(),
    ]);
    expect(code).toBe(0);
    expect(out).toContain("Device UUID:    50363154-3931-44f0-8022-121b6401627d");
    expect(out).toContain("Sec tag:        17");
    expect(out).toContain("(matches the body)");
    expect(out).toContain("COSE key id:    -2 (device identity key)");
    expect(out).toContain("CSR signature:  valid");
    expect(out).toContain(readVector("keygen_csr_sectag17_expected_csr_original.pem"));
    expect(out).toContain(readVector("keygen_csr_sectag17_expected_pubkey.pem"));
  });

  it("parse keygen - --json reads the wire form from stdin", async () => {
    const { code, out } = await run(
      ["parse", "keygen", "-", "--json"],
      readVector("serial_keygen_response_sectag52_uuid50363953.txt"),
    );
    expect(code).toBe(0);
    const parsed = JSON.parse(out);
    expect(parsed).toMatchObject({
      kind: "csr",
      secTag: 52,
      deviceUuid: "50363953-3234-4723-80b9-1503d88271bf",
    });
    expect(Buffer.from(parsed.der, "base64").length).toBe(271);
    expect(parsed.csr.signatureValid).toBe(true);
  });

  it("parse keygen reports the re-encoded body and exits 3", async () => {
    const { code, out, err } = await run([
      "parse",
      "keygen",
      readVector("keygen_csr_sectag1235_body_normalized.txt"),
    ]);
    expect(code).toBe(3);
    expect(out).toContain("matches only with the NULL parameter re-inserted");
    expect(err).toContain("[ERR_KEYGEN_DIGEST_NORMALIZED]");
  });

  it("parse keygen of garbage fails with ERR_KEYGEN_MALFORMED (exit 3, JSON error)", async () => {
    const { code, out, err } = await run(["parse", "keygen", "not-a-blob", "--json"]);
    expect(code).toBe(3);
    expect(JSON.parse(out).error.code).toBe("ERR_KEYGEN_MALFORMED");
    expect(err).toContain("ERR_KEYGEN_MALFORMED");
  });

  it("parse attesttoken prints human output and JSON", async () => {
    const human = await run([
      "parse",
      "attesttoken",
      readVector("attesttoken_uuid50363154.txt").trim(),
    ]);
    expect(human.code).toBe(0);
    expect(human.out).toContain("Device type:         3 (nRF9160 SICA)");
    expect(human.out).toContain("Modem firmware UUID: 1aff3acb-f1a6-4764-a263-4c2646c1c654");
    const json = await run(
      ["parse", "attesttoken", "-", "--json"],
      readVector("serial_attesttoken_response.txt"),
    );
    expect(JSON.parse(json.out)).toMatchObject({
      deviceUuid: "50363154-3931-44f0-8022-121b6401627d",
      deviceType: 3,
      nonce: "d3efdd7f04f1fc60e5858b2087343d6a",
      messageType: 1,
    });
  });

  it("parse keygen of a bare CSR body prints the CN and key and says it is not attested", async () => {
    const body = readVector("keygen_csr_sectag17_uuid50363154.txt").trim().split(".")[0]!;
    const human = await run(["parse", "keygen", body]);
    expect(human.out).toContain("Attestation:    none: NOT ATTESTED");
    expect(human.out).toContain("Common name:    50363154-3931-44f0-8022-121b6401627d");
    expect(human.out).toContain("CSR signature:  valid");
    expect(human.out).toContain(readVector("keygen_csr_sectag17_expected_pubkey.pem"));
    expect(human.err).toContain("not attested (no COSE part)");
    expect(human.err).toContain("[ERR_KEYGEN_UNATTESTED]");
    expect(human.code).toBe(3);
    const json = JSON.parse((await run(["parse", "keygen", body, "--json"])).out);
    expect(json).toMatchObject({
      kind: "csr",
      attestation: null,
      csr: { commonName: "50363154-3931-44f0-8022-121b6401627d", signatureValid: true },
    });
    expect(json).not.toHaveProperty("deviceUuid");
  });

  it("parse keygen of a bare public-key body reports the key, not attested", async () => {
    const body = readVector("keygen_pubkey_sectag16_uuid50363154.txt").trim().split(".")[0]!;
    const json = JSON.parse((await run(["parse", "keygen", `%KEYGEN: "${body}"`, "--json"])).out);
    expect(json).toMatchObject({ kind: "public-key", attestation: null });
    expect(json.publicKeyPem).toContain("BEGIN PUBLIC KEY");
  });

  it("parse attesttoken of the message alone reports its fields, not attested", async () => {
    const message = readVector("attesttoken_uuid50363154.txt").trim().split(".")[0]!;
    const human = await run(["parse", "attesttoken", message]);
    expect(human.code).toBe(0);
    expect(human.out).toContain("Device type:         3 (nRF9160 SICA)");
    expect(human.out).toContain("Attestation:         none: NOT ATTESTED");
    const json = JSON.parse((await run(["parse", "attesttoken", message, "--json"])).out);
    expect(json).toMatchObject({
      deviceUuid: "50363154-3931-44f0-8022-121b6401627d",
      attestation: null,
    });
    expect(json).not.toHaveProperty("cose");
  });
});

describe("ca issue from a bare AT%KEYGEN body", () => {
  it("refuses without --allow-unattested, issues with it (openssl-verified)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nrf-provision-unattested-"));
    try {
      const env = { NRF_PROVISION_CA_PASSPHRASE: "unattested-test" };
      const cli = (argv: string[]) => runCliCaptured(argv, { env, cwd: dir });
      expect((await cli(["ca", "init", "--dir", "ca"])).code).toBe(0);
      const body = readVector("keygen_csr_sectag17_uuid50363154.txt").trim().split(".")[0]!;
      await writeFile(join(dir, "bare.txt"), `${body}\n`);
      const issue = [
        "ca",
        "issue",
        "--dir",
        "ca",
        "--keygen-file",
        "bare.txt",
        "--out",
        "cert.pem",
      ];
      const refused = await cli([...issue, "--json"]);
      expect(refused.code).toBe(3);
      expect(JSON.parse(refused.out).error).toMatchObject({ code: "ERR_KEYGEN_UNATTESTED" });
      expect(JSON.parse(refused.out).error.message).toContain("--allow-unattested");
      const issued = await cli([...issue, "--allow-unattested", "--json"]);
      expect(issued.code, issued.err).toBe(0);
      expect(JSON.parse(issued.out).certificate.deviceId).toBe(
        "50363154-3931-44f0-8022-121b6401627d",
      );
      const verify = spawnSync("openssl", ["verify", "-CAfile", "ca/ca.pem", "cert.pem"], {
        cwd: dir,
        encoding: "utf8",
      });
      expect(verify.stdout).toContain("cert.pem: OK");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
