import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { fromPemAll } from "../../../src/der/index.js";
import { readCertificate } from "../../../src/sim/cloud/certificate-facts.js";
import {
  createSimCertificateAuthority,
  type SimCloud,
  type SimCloudOptions,
  startSimCloud,
} from "../../../src/sim/cloud/index.js";
import { readVector } from "../../vectors.js";

const started: SimCloud[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((sim) => sim.close()));
});
async function sim(options: SimCloudOptions = {}) {
  const cloud = await startSimCloud({ bulkDelayMs: 10, ...options });
  started.push(cloud);
  return cloud;
}

const CERT = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

async function post(cloud: SimCloud, path: string, body: string, contentType = "text/csv") {
  const response = await fetch(`${cloud.baseUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${cloud.apiKey}`, "content-type": contentType },
    body,
  });
  return {
    status: response.status,
    json: (await response.json()) as { code?: number; message?: string; bulkOpsRequestId?: string },
  };
}

describe("simulated nRF Cloud: CSV upload validation (422 names row and field)", () => {
  it.each([
    [
      "a header row",
      `deviceId,subType,tags,fwTypes,certPem\nd1,,,,"${CERT}"\n`,
      /row 0, field fwTypes/,
    ],
    ["a blank line", `d1,,,,"${CERT}"\n\nd2,,,,"${CERT}"\n`, /row 1, field row: blank line/],
    ["a missing column", `d1,,,"${CERT}"\n`, /row 0, field row: 4 columns, expected 5/],
    ["an unquoted PEM without its line break", `d1,,,,${CERT.trimEnd()}\n`, /row 0, field certPem/],
    ["a bad tag", `d1,,a b,,"${CERT}"\n`, /row 0, field tags/],
    ["a 129-char device ID", `${"a".repeat(129)},,,,"${CERT}"\n`, /row 0, field deviceId/],
    ["an unterminated quote", `d1,,,,"${CERT}\n`, /unterminated/],
  ])("refuses %s", async (_name, body, message) => {
    const cloud = await sim();
    const answer = await post(cloud, "/devices", body);
    expect(answer.status).toBe(422);
    expect(answer.json.code).toBe(42200);
    expect(answer.json.message).toMatch(message);
  });

  it("refuses more than 1000 rows, and accepts exactly 1000", async () => {
    const cloud = await sim({ bulkDelayMs: 60_000 });
    const rows = (n: number) => Array.from({ length: n }, (_, i) => `d${i},"${CERT}"\n`).join("");
    expect((await post(cloud, "/devices/certificates", rows(1001))).json.message).toMatch(
      /1001 rows \(max 1000\)/,
    );
    const ok = await post(cloud, "/devices/certificates", rows(1000));
    expect(ok.status).toBe(202);
    expect(ok.json.bulkOpsRequestId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it("accepts the documented content types only", async () => {
    const cloud = await sim({ bulkDelayMs: 60_000 });
    const row = `d1,"${CERT}"\n`;
    for (const type of [
      "text/csv",
      "text/plain",
      "text/plain; charset=UTF8",
      "application/octet-stream",
    ]) {
      expect((await post(cloud, "/devices/certificates", row, type)).status).toBe(202);
    }
    const refused = await post(cloud, "/devices/certificates", row, "application/json");
    expect(refused).toMatchObject({ status: 400, json: { code: 40000 } });
  });

  it("accepts a final row without a line terminator and CRLF row terminators", async () => {
    const cloud = await sim({ bulkDelayMs: 60_000 });
    expect((await post(cloud, "/devices", `d1,,,,"${CERT}"\r\nd2,,,,"${CERT}"`)).status).toBe(202);
  });
});

describe("simulated nRF Cloud: server behaviour", () => {
  it("onboards a gateway subType as a Gateway and serves the uploaded CSV without auth", async () => {
    const cloud = await sim();
    const ca = await createSimCertificateAuthority();
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const body = `gw-1,my-gateway,,,"${ca.issue({ deviceId: "gw-1", publicKey })}"\n`;
    const { json } = await post(cloud, "/devices", body);
    while (cloud.bulkOps.get(json.bulkOpsRequestId ?? "")?.details.status !== "SUCCEEDED") {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(cloud.devices.get("gw-1")?.type).toBe("Gateway");
    const uploaded = await fetch(
      cloud.bulkOps.get(json.bulkOpsRequestId ?? "")?.details.uploadedDataUrl ?? "",
    );
    expect(await uploaded.text()).toBe(body);
  });

  it("answers 401 without a key, 404 for unknown paths, 405 for wrong methods", async () => {
    const cloud = await sim();
    expect((await fetch(`${cloud.baseUrl}/bulk-ops-requests`)).status).toBe(401);
    expect((await fetch(`${cloud.baseUrl}/nothing`)).status).toBe(404);
    expect((await fetch(`${cloud.baseUrl}/devices`, { method: "GET" })).status).toBe(405);
  });

  it("injects faults reproducibly from its seed", async () => {
    const pattern = async () => {
      const cloud = await sim({ rate429: 0.3, rate500: 0.2, seed: "fixed" });
      const statuses: number[] = [];
      for (let i = 0; i < 20; i += 1) {
        const response = await fetch(`${cloud.baseUrl}/bulk-ops-requests`, {
          headers: { authorization: `Bearer ${cloud.apiKey}` },
        });
        statuses.push(response.status);
        if (response.status === 429) expect(response.headers.get("retry-after")).toBe("1");
      }
      return statuses;
    };
    const first = await pattern();
    expect(first).toContain(429);
    expect(first).toContain(500);
    expect(first).toContain(200);
    expect(await pattern()).toEqual(first);
  });
});

describe("simulated nRF Cloud: DER certificate reader", () => {
  it("agrees with node's X509Certificate on the shared vectors and on its own certificates", async () => {
    const ca = await createSimCertificateAuthority();
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const pems = [
      readVector("device_cert_2021_from_modem_csr_uuid50363154-3932.pem"),
      readVector("fixture_test_ca_cert_from_create_ca_cert.pem"),
      ca.issue({ deviceId: "x", publicKey }),
      ca.certificatePem,
    ];
    for (const pem of pems) {
      const node = new X509Certificate(pem);
      const facts = readCertificate(fromPemAll(pem, ["CERTIFICATE"])[0]!);
      expect(facts.fingerprint).toBe(node.fingerprint256);
      expect(facts.spki.equals(node.publicKey.export({ type: "spki", format: "der" }))).toBe(true);
      expect(facts.isP256).toBe(node.publicKey.asymmetricKeyDetails?.namedCurve === "prime256v1");
    }
  });

  it("refuses truncated DER instead of reading past it", () => {
    const der = fromPemAll(readVector("device_cert_2021_from_modem_csr_uuid50363154-3932.pem"), [
      "CERTIFICATE",
    ])[0]!;
    for (const cut of [1, 10, 100, der.length - 1]) {
      expect(() => readCertificate(der.subarray(0, cut))).toThrow();
    }
  });
});
