import { describe, expect, it } from "vitest";
import { createCloudClient } from "../../src/cloud/index.js";
import {
  onboardEachDevice,
  ProvisionError,
  type ProvisionOptions,
  parseDeviceIdPolicy,
  provisionBoard,
  type StepName,
} from "../../src/pipeline/index.js";
import { type SimCloud, startSimCloud } from "../../src/sim/cloud/index.js";
import { type PtyBoard, serialConnection, usePipelineBench } from "./fixtures.js";

/** Provisions `board`, unplugging it (closing its PTY) as soon as `step` starts. */
async function provisionUnpluggingAt(
  board: PtyBoard,
  step: StepName,
  options: Omit<ProvisionOptions, "board">,
): Promise<ProvisionError> {
  const error = await provisionBoard({
    ...options,
    board: serialConnection(board.path),
    onEvent: (event) => {
      if (event.type === "step-start" && event.step === step) void board.close();
    },
  }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ProvisionError);
  return error as ProvisionError;
}

describe("faults: a board unplugged mid-way, nRF Cloud down", () => {
  // No shared cloud: only the last test needs one, and a failing one.
  const bench = usePipelineBench({ cloud: false });

  it("unplugged during KEYGEN: keygen step named with the board, nothing issued", async () => {
    const { ca, rootCaPem } = bench;
    const [board] = await bench.startBoards(1, { keygenMs: 2000 });
    const error = await provisionUnpluggingAt(board!, "keygen", {
      ca,
      rootCaPem,
      deviceIdPolicy: parseDeviceIdPolicy("imei"),
    });
    expect(error.step).toBe("keygen");
    expect(error.code).toMatch(/^ERR_(AT|TRANSPORT|SERIAL)_/);
    expect(error.message).toContain(`keygen failed on ${board!.path} (IMEI ${board!.modem.imei}`);
    expect(error.details.modeRestored).toBe(false);
    expect(await ca.ledger.find({ deviceId: `nrf-${board!.modem.imei}` })).toEqual([]);
  });

  it("unplugged during the certificate write: the issued certificate is in the ledger", async () => {
    const { ca, rootCaPem } = bench;
    const [board] = await bench.startBoards(1);
    const error = await provisionUnpluggingAt(board!, "write-certificate", {
      ca,
      rootCaPem,
      deviceIdPolicy: parseDeviceIdPolicy("uuid"),
    });
    expect(error.step).toBe("write-certificate");
    expect(error.message).toContain(board!.path);
    expect(error.message).toContain(`device ${board!.modem.deviceUuid}`);
    expect(error.message).toContain("CA ledger");
    const ledger = await ca.ledger.find({ deviceId: board!.modem.deviceUuid });
    expect(ledger).toHaveLength(1);
    expect(error.timings.find((t) => t.step === "issue")?.status).toBe("done");
  });

  it("nRF Cloud failing during onboarding: onboard step, board provisioned and back in its mode", async () => {
    const { ca, rootCaPem } = bench;
    const cloud: SimCloud = await startSimCloud({ port: 0, rate500: 1 });
    try {
      const [board] = await bench.startBoards(1);
      const client = createCloudClient({
        baseUrl: cloud.baseUrl,
        apiKey: cloud.apiKey,
        retry: { maxAttempts: 2, baseDelayMs: 5 },
      });
      const outcome = await provisionBoard({
        board: serialConnection(board!.path),
        ca,
        rootCaPem,
        deviceIdPolicy: parseDeviceIdPolicy("uuid"),
        onboarder: onboardEachDevice(client),
      }).catch((e: unknown) => e);
      expect(outcome).toBeInstanceOf(ProvisionError);
      const error = outcome as ProvisionError;
      expect(error.step).toBe("onboard");
      expect(error.code).toBe("ERR_CLOUD_HTTP");
      expect(error.details.status).toBe(500);
      expect(error.message).toContain("nrf-provision cloud onboard");
      expect(board!.modem.functionalMode).toBe(1);
      const deviceId = board!.modem.deviceUuid;
      const [entry] = await ca.ledger.find({ deviceId });
      const onModem = board!.modem.credentials().find((c) => c.type === 1);
      expect(onModem?.content).toBe(entry?.pem);
    } finally {
      await cloud.close();
    }
  });
});
