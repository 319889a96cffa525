import { X509Certificate } from "node:crypto";
import { mkdir, readdir, readFile, symlink, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createCloudClient } from "../../src/cloud/index.js";
import {
  onboardEachDevice,
  ProvisionError,
  parseDeviceIdPolicy,
  provisionBoard,
} from "../../src/pipeline/index.js";
import { serialConnection, usePipelineBench } from "./fixtures.js";

describe("provisionBoard over a pseudo-terminal", () => {
  const bench = usePipelineBench();

  it("provisions and onboards a fresh board, leaving it in its original mode", async () => {
    const { ca, cloud, dir, rootCaPem } = bench;
    const [board] = await bench.startBoards(1);
    const client = createCloudClient({ baseUrl: cloud.baseUrl, apiKey: cloud.apiKey });
    const result = await provisionBoard({
      board: serialConnection(board!.path),
      ca,
      deviceIdPolicy: parseDeviceIdPolicy("imei"),
      rootCaPem,
      onboarder: onboardEachDevice(client),
      saveDir: join(dir, "saved"),
    });
    const modem = board!.modem;
    expect(result.deviceId).toBe(`nrf-${modem.imei}`);
    expect(result.outcome).toBe("provisioned");
    expect(result.credentials.rootCa.verified).toBe(true);
    expect(result.credentials.certificate.verified).toBe(true);
    expect(modem.functionalMode).toBe(1);
    const stored = modem.credentials().filter((c) => c.secTag === 16842753);
    expect(stored.map((c) => c.type).sort()).toEqual([0, 1, 2]);
    expect(stored.find((c) => c.type === 1)?.content).toBe(result.certificate.pem);
    expect(new X509Certificate(result.certificate.pem).subject).toBe(`CN=${result.deviceId}`);
    expect((await ca.ledger.find({ deviceId: result.deviceId })).length).toBe(1);
    expect(cloud.devices.get(result.deviceId)?.onboardingPem).toBe(result.certificate.pem);
    expect(result.steps.map((s) => s.step)).toEqual([
      "connect",
      "identity",
      "offline",
      "inventory",
      "keygen",
      "issue",
      "write-root-ca",
      "write-certificate",
      "verify",
      "restore-mode",
      "onboard",
    ]);
    const saved = JSON.parse(
      await readFile(join(dir, "saved", result.deviceId, "device.json"), "utf8"),
    );
    expect(saved.imei).toBe(modem.imei);
  });

  it("--save-dir never writes through a planted device.json link; --replace replaces regular files", async () => {
    const { ca, dir, rootCaPem } = bench;
    const [board] = await bench.startBoards(1);
    const deviceId = `nrf-${board!.modem.imei}`;
    const saveDir = join(dir, "saved-link");
    await mkdir(join(saveDir, deviceId), { recursive: true });
    await writeFile(join(dir, "victim.txt"), "victim");
    await symlink(join(dir, "victim.txt"), join(saveDir, deviceId, "device.json"));
    const options = {
      board: serialConnection(board!.path),
      ca,
      deviceIdPolicy: parseDeviceIdPolicy("imei"),
      rootCaPem,
      saveDir,
    };
    const error = await provisionBoard(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as ProvisionError).cause).toMatchObject({ code: "ERR_IO_SYMLINK" });
    expect(await readFile(join(dir, "victim.txt"), "utf8")).toBe("victim");
    // Refused before anything was saved: no certificate.pem beside the link.
    expect((await readdir(join(saveDir, deviceId))).sort()).toEqual(["device.json"]);
    await unlink(join(saveDir, deviceId, "device.json"));
    await writeFile(join(saveDir, deviceId, "device.json"), "old");
    const again = await provisionBoard({ ...options, replace: true });
    const saved = JSON.parse(await readFile(join(saveDir, deviceId, "device.json"), "utf8"));
    expect(saved.certificate.serialNumber).toBe(again.certificate.serialNumber);
  });

  it("refuses a sec tag that already holds credentials, naming the board, mode restored", async () => {
    const { ca, rootCaPem } = bench;
    const [board] = await bench.startBoards(1);
    const options = {
      board: serialConnection(board!.path),
      ca,
      deviceIdPolicy: parseDeviceIdPolicy("uuid"),
      rootCaPem,
    };
    await provisionBoard(options);
    const error = await provisionBoard(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisionError);
    const failure = error as ProvisionError;
    expect(failure.code).toBe("ERR_PROVISION_SEC_TAG_IN_USE");
    expect(failure.step).toBe("inventory");
    expect(failure.message).toContain(board!.path);
    expect(failure.message).toContain(board!.modem.imei);
    expect(failure.message).toContain("--replace");
    expect(failure.details.modeRestored).toBe(true);
    expect(board!.modem.functionalMode).toBe(1);

    const replaced = await provisionBoard({ ...options, replace: true });
    expect(replaced.outcome).toBe("provisioned");
    expect((await ca.ledger.find({ deviceId: replaced.deviceId })).length).toBe(2);
  });
});
