import { expect } from "vitest";
import type { SimCloud } from "../../src/sim/cloud/index.js";
import type { PtyBoard } from "./fixtures.js";
import { type CliRun, summaryOf } from "./station-child.js";

/** The sec tag the fuzzed stations provision into. */
const SEC_TAG = 16842753;

/**
 * The verdict of the fuzz tests on the last, clean run after the kills: a device is right when
 * the certificate on its modem is in the ledger and is the one on nRF Cloud. The run must never
 * exit 0 unless every device is right, and must name every device that is not as failed.
 * Returns the devices that are not right and the ones the run named as failed.
 */
export async function expectNoLie(
  final: CliRun,
  boards: readonly PtyBoard[],
  cloud: SimCloud,
  ledgerPems: (deviceId: string) => Promise<string[]>,
  context: string,
): Promise<{ wrong: string[]; reportedFailed: Set<string | undefined>; failures: unknown[] }> {
  const summary = summaryOf(final) as
    | { failures: Array<{ deviceId?: string; code: string; message: string }> }
    | undefined;
  expect(summary, context).toBeDefined();
  const reportedFailed = new Set(summary!.failures.map((failure) => failure.deviceId));
  const wrong: string[] = [];
  for (const board of boards) {
    const deviceId = `nrf-${board.modem.imei}`;
    const onModem = board.modem
      .credentials()
      .find((credential) => credential.secTag === SEC_TAG && credential.type === 1)?.content;
    const ledger = await ledgerPems(deviceId);
    const onCloud = cloud.devices.get(deviceId)?.onboardingPem;
    const good = onModem !== undefined && ledger.includes(onModem) && onCloud === onModem;
    if (!good) wrong.push(deviceId);
  }
  if (final.exitCode === 0) expect(wrong, context).toEqual([]);
  for (const deviceId of wrong) {
    expect(reportedFailed, `${deviceId}: ${context}`).toContain(deviceId);
  }
  return { wrong, reportedFailed, failures: summary!.failures };
}
