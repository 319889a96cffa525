// Reading a finished OnboardDevices job per device, for the station (StationOnboarding) and the
// line (LineUploads) alike.
import {
  BulkOpsError,
  type BulkUploadChunk,
  type CloudClient,
  type WaitForBulkOpsOptions,
} from "../cloud/index.js";

/** One device's result in a finished job: no error means nRF Cloud confirmed its row. */
export interface DeviceResult {
  deviceId: string;
  error?: BulkOpsError;
}

/**
 * Waits for one OnboardDevices job and gives each of its devices' result, in the chunk's order.
 * Rejects when the wait is cut short (timeout, `signal`, nRF Cloud unreachable): that decides
 * nothing, the job stays submitted.
 */
export async function waitForDeviceResults(
  cloud: CloudClient,
  chunk: BulkUploadChunk,
  wait: WaitForBulkOpsOptions,
): Promise<DeviceResult[]> {
  const result = await cloud.waitForBulkOps(chunk, { ...wait, throwOnFailure: false });
  const refusals = new Map(result.failures.map((f) => [f.deviceId, f.message]));
  return chunk.deviceIds.map((deviceId) => {
    const message = refusals.get(deviceId);
    if (message === undefined) return { deviceId };
    const error = new BulkOpsError("ERR_BULK_FAILED", `nRF Cloud refused ${deviceId}: ${message}`);
    return { deviceId, error };
  });
}
