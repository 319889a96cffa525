import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DeviceSchema } from "../../src/cloud/schemas.js";
import { DUPLICATE_CERTIFICATE } from "../../src/sim/cloud/index.js";
import { clientFor, fastWait, onboardingRows, useSimCloud } from "./helpers.js";

describe("IPDevices endpoints against the simulated nRF Cloud", () => {
  const startSim = useSimCloud();

  it("onboardDevice: 202, the device is fetchable; a second device with the same certificate is a conflict", async () => {
    const sim = await startSim();
    const client = clientFor(sim);
    const [row] = await onboardingRows(1, "single");
    if (!row) throw new Error("no row");
    await client.onboardDevice({
      ...row,
      subType: "humidity,sensor",
      tags: ["east"],
      supportedFirmwareTypes: ["APP", "SMP"],
    });
    const device = await client.fetchDevice({ deviceId: row.deviceId });
    expect(device).toMatchObject({
      id: row.deviceId,
      type: "Generic",
      subType: "humidity,sensor",
      tags: ["east"],
      firmware: { supports: ["APP", "SMP"] },
      state: { version: 0 },
    });
    // Same again is idempotent; the same certificate for another device is refused.
    await client.onboardDevice({
      ...row,
      subType: "humidity,sensor",
      tags: ["east"],
      supportedFirmwareTypes: ["APP", "SMP"],
    });
    await expect(
      client.onboardDevice({ deviceId: "other", certificate: row.certificate }),
    ).rejects.toMatchObject({
      code: "ERR_CLOUD_CONFLICT",
      details: { status: 409, message: DUPLICATE_CERTIFICATE },
    });
  });

  it("onboardDevice refuses invalid input before sending anything", async () => {
    const sim = await startSim();
    const client = clientFor(sim);
    const [row] = await onboardingRows(1);
    if (!row) throw new Error("no row");
    for (const [change, field] of [
      [{ deviceId: "a b" }, "deviceId"],
      [{ certificate: row.certificate.trimEnd() }, "certificate"],
      [{ subType: "a b" }, "subType"],
      [{ supportedFirmwareTypes: ["FOO"] }, "supportedFirmwareTypes"],
    ] as const) {
      await expect(client.onboardDevice({ ...row, ...change })).rejects.toMatchObject({
        code: "ERR_CSV_INVALID",
        details: { field },
      });
    }
    expect(sim.stats.requests).toBe(0);
  });

  it("onboardDevices: bulk job goes PENDING → IN_PROGRESS → SUCCEEDED with progress reported", async () => {
    // The job moves one step each time the client reports progress, never by a timer: each
    // poll sees exactly one state, however loaded the machine is.
    const sim = await startSim({ bulkProgress: "manual" });
    const client = clientFor(sim);
    const upload = await client.onboardDevices(await onboardingRows(5));
    expect(upload.chunks).toHaveLength(1);
    const seen: string[] = [];
    const result = await client.waitForBulkOps(upload.chunks[0] as never, {
      ...fastWait,
      onProgress: (details) => {
        seen.push(details.status);
        sim.advanceBulkOps();
      },
    });
    expect(result).toMatchObject({ status: "SUCCEEDED", failures: [] });
    expect(seen).toEqual(["PENDING", "IN_PROGRESS", "SUCCEEDED"]);
    expect(result.details.endpoint).toBe("ONBOARD_DEVICES");
    expect(result.details.completedAt).toBeDefined();
    // The uploaded data is served byte-exact.
    const uploaded = await fetch(result.details.uploadedDataUrl ?? "");
    expect(await uploaded.text()).toMatch(/^dev-00000,,,,"-----BEGIN CERTIFICATE-----\n/);
  });

  it("a manual bulk job stays PENDING until advanced, then moves one step per advance", async () => {
    const sim = await startSim({ bulkProgress: "manual", bulkDelayMs: 0 });
    const client = clientFor(sim);
    const upload = await client.onboardDevices(await onboardingRows(2, "manual"));
    const id = upload.chunks[0]?.bulkOpsRequestId ?? "";
    await new Promise((resolve) => setTimeout(resolve, 20)); // a timed job would be done by now
    expect((await client.getBulkOpsRequest(id)).status).toBe("PENDING");
    expect(sim.advanceBulkOps()).toBe(1);
    expect((await client.getBulkOpsRequest(id)).status).toBe("IN_PROGRESS");
    expect(sim.devices.has("manual-00000")).toBe(false);
    expect(sim.advanceBulkOps()).toBe(1);
    expect((await client.getBulkOpsRequest(id)).status).toBe("SUCCEEDED");
    expect(sim.devices.has("manual-00000")).toBe(true);
    expect(sim.advanceBulkOps()).toBe(0);
  });

  it("onboardDevices: a 422 names the row and field and rejects the whole upload", async () => {
    const sim = await startSim();
    const response = await fetch(`${sim.baseUrl}/devices`, {
      method: "POST",
      headers: { authorization: `Bearer ${sim.apiKey}`, "content-type": "text/csv" },
      body: 'ok,,,APP,"-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n"\nbad,,,APP|FOO,"x"\n',
    });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({
      code: 42200,
      message: expect.stringMatching(/row 1, field fwTypes/),
    });
    expect(sim.bulkOps.size).toBe(0);
  });

  it("registerCertificates replaces an onboarded device's certificate; unknown devices fail by row", async () => {
    const sim = await startSim();
    const client = clientFor(sim);
    const [first, replacement] = await onboardingRows(2, "cert");
    if (!first || !replacement) throw new Error("no rows");
    await client.onboardDevice(first);
    const upload = await client.registerCertificates([
      { deviceId: first.deviceId, certificate: replacement.certificate },
      { deviceId: "never-onboarded", certificate: first.certificate },
    ]);
    const result = await client.waitForBulkUpload(upload, fastWait);
    expect(result.status).toBe("FAILED");
    expect(result.failures).toEqual([
      expect.objectContaining({
        deviceId: "never-onboarded",
        row: 1,
        inputRow: 1,
        message: expect.stringMatching(/not onboarded/),
      }),
    ]);
    expect(sim.devices.get(first.deviceId)?.onboardingPem).toBe(replacement.certificate);
  });

  it("registerPublicKeys stores ES256 keys and refuses other curves per row", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const sim = await startSim();
    const client = clientFor(sim);
    const p256 = generateKeyPairSync("ec", { namedCurve: "P-256" })
      .publicKey.export({ type: "spki", format: "pem" })
      .toString();
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" })
      .publicKey.export({ type: "spki", format: "pem" })
      .toString();
    const result = await client.waitForBulkUpload(
      await client.registerPublicKeys([
        { deviceId: "k1", publicKey: p256 },
        { deviceId: "k2", publicKey: p384 },
      ]),
      fastWait,
    );
    expect(result.failures.map((f) => [f.deviceId, f.message])).toEqual([
      ["k2", "The public key is not an ES256 (P-256) key"],
    ]);
    expect(sim.registry.publicKeys.has("k1")).toBe(true);
  });

  it("updateDeviceState merges into the shadow, bumps the version, and honours If-Match", async () => {
    const sim = await startSim();
    const client = clientFor(sim);
    const [row] = await onboardingRows(1, "shadow");
    if (!row) throw new Error("no row");
    await client.onboardDevice(row);
    await client.updateDeviceState({
      deviceId: row.deviceId,
      state: { reported: { device: { a: 1, b: 2 } } },
    });
    const v1 = await client.fetchDevice({ deviceId: row.deviceId });
    expect(v1.state?.version).toBe(1);
    await client.updateDeviceState({
      deviceId: row.deviceId,
      state: { reported: { device: { b: null, c: 3 } }, desired: { led: "on" } },
      ifMatch: v1.state?.version ?? 0,
    });
    const v2 = await client.fetchDevice({ deviceId: row.deviceId });
    expect(v2.state).toMatchObject({
      reported: { device: { a: 1, c: 3 } },
      desired: { led: "on" },
      version: 2,
    });
    expect(v2.$meta?.version).toBe(2);
    await expect(
      client.updateDeviceState({ deviceId: row.deviceId, state: { reported: {} }, ifMatch: 1 }),
    ).rejects.toMatchObject({
      code: "ERR_CLOUD_CONFLICT",
      details: { status: 409, method: "PATCH" },
    });
    await expect(
      client.updateDeviceState({ deviceId: "nobody", state: { reported: {} } }),
    ).rejects.toMatchObject({ details: { status: 404, nrfErrorCode: 40412 } });
  });

  it("deleteDevice removes the device (404 afterwards) and frees its certificate", async () => {
    const sim = await startSim();
    const client = clientFor(sim);
    const [row] = await onboardingRows(1, "del");
    if (!row) throw new Error("no row");
    await client.onboardDevice(row);
    await client.deleteDevice({ deviceId: row.deviceId });
    await expect(client.fetchDevice({ deviceId: row.deviceId })).rejects.toMatchObject({
      details: { status: 404 },
    });
    await expect(client.deleteDevice({ deviceId: row.deviceId })).rejects.toMatchObject({
      details: { nrfErrorCode: 40414 },
    });
    await client.onboardDevice({ deviceId: "new-owner", certificate: row.certificate });
  });

  it("associateDevice / dissociateDevice: ownership codes checked, deprecation warned", async () => {
    const sim = await startSim({ ownershipCodes: { "nrf-352656100000001": "123456" } });
    const warnings: string[] = [];
    const client = clientFor(sim, { onWarning: (m) => warnings.push(m) });
    await expect(
      client.associateDevice({ deviceId: "nrf-352656100000001", ownershipCode: "999" }),
    ).rejects.toMatchObject({ details: { status: 400, nrfErrorCode: 40102 } });
    await expect(
      client.associateDevice({ deviceId: "nrf-1", ownershipCode: "1" }),
    ).rejects.toMatchObject({ details: { status: 404, nrfErrorCode: 40411 } });
    await client.associateDevice({
      deviceId: "nrf-352656100000001",
      ownershipCode: "123456",
      subType: "tracker",
    });
    expect((await client.fetchDevice({ deviceId: "nrf-352656100000001" })).subType).toBe("tracker");
    expect(warnings).toEqual([]);
    await client.dissociateDevice({ deviceId: "nrf-352656100000001" });
    expect(warnings).toEqual([
      expect.stringMatching(/DissociateDevice is deprecated.*DeleteDevice/),
    ]);
    await expect(
      client.dissociateDevice({ deviceId: "nrf-352656100000001" }),
    ).rejects.toMatchObject({ details: { status: 404, nrfErrorCode: 40413 } });
  });

  it("createDeviceCertificate returns a JITP key and certificate that openssl verifies, and warns", async () => {
    const sim = await startSim({ ownershipCodes: { "nrf-352656100000002": "abc" } });
    const warnings: string[] = [];
    const client = clientFor(sim, { onWarning: (m) => warnings.push(m) });
    const created = await client.createDeviceCertificate({
      deviceId: "nrf-352656100000002",
      ownershipCode: "abc",
    });
    expect(warnings).toEqual([expect.stringMatching(/CreateDeviceCertificate is deprecated/)]);
    expect(created.clientId).toBe("nrf-352656100000002");
    expect(created.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const dir = mkdtempSync(join(tmpdir(), "jitp-"));
    writeFileSync(join(dir, "ca.pem"), created.caCert);
    writeFileSync(join(dir, "cert.pem"), created.clientCert);
    writeFileSync(join(dir, "key.pem"), created.privateKey ?? "");
    expect(
      execFileSync("openssl", ["verify", "-CAfile", join(dir, "ca.pem"), join(dir, "cert.pem")], {
        encoding: "utf8",
      }),
    ).toContain("OK");
    const subject = execFileSync(
      "openssl",
      ["x509", "-in", join(dir, "cert.pem"), "-noout", "-subject"],
      { encoding: "utf8" },
    );
    expect(subject).toContain("CN = nrf-352656100000002");
    // The key belongs to the certificate.
    const pub = (args: string[]) => execFileSync("openssl", args, { encoding: "utf8" });
    expect(pub(["pkey", "-in", join(dir, "key.pem"), "-pubout"])).toBe(
      pub(["x509", "-in", join(dir, "cert.pem"), "-noout", "-pubkey"]),
    );
    await expect(
      client.createDeviceCertificate({ deviceId: "nrf-352656100000002", ownershipCode: "nope" }),
    ).rejects.toMatchObject({ details: { nrfErrorCode: 40102 } });
  });

  it("account calls need the API key: 401 → ERR_CLOUD_AUTH", async () => {
    const sim = await startSim();
    const client = clientFor(sim, { apiKey: "wrong" });
    await expect(client.onboardDevices(await onboardingRows(1))).rejects.toMatchObject({
      code: "ERR_CLOUD_AUTH",
      details: {
        status: 401,
        nrfErrorCode: 40100,
        method: "POST",
        path: "/v1/devices",
      },
    });
    await expect(clientFor(sim, { apiKey: "" }).listBulkOpsRequests()).rejects.toMatchObject({
      code: "ERR_CLOUD_CONFIG",
    });
  });

  it("listBulkOpsRequests pages with pageNextToken and filters by status", async () => {
    const sim = await startSim({ failRows: new Set(["dev-00002"]) });
    const client = clientFor(sim);
    const rows = await onboardingRows(3);
    for (const row of rows)
      await client.waitForBulkUpload(await client.onboardDevices([row]), fastWait);
    const first = await client.listBulkOpsRequests({ pageLimit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.total).toBe(3);
    const second = await client.listBulkOpsRequests({
      pageLimit: 2,
      pageNextToken: first.pageNextToken,
    });
    expect(second.items).toHaveLength(1);
    expect(second.pageNextToken).toBeUndefined();
    const failed = await client.listBulkOpsRequests({ status: "FAILED" });
    expect(failed.items.map((i) => i.status)).toEqual(["FAILED"]);
    expect(failed.items[0]?.bulkOpsRequestId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it("validates FetchDevice leniently: only id is required", () => {
    expect(
      DeviceSchema.parse({ id: "x", tags: "not-an-array", state: { version: "7" } }),
    ).toMatchObject({ id: "x" });
    expect(DeviceSchema.safeParse({ name: "no id" }).success).toBe(false);
  });
});
