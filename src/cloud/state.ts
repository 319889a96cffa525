import { type CloudContext, deviceOrAccountAuth, devicePath } from "./context.js";
import type { Device } from "./schemas.js";

export interface UpdateDeviceStateInput {
  deviceId: string;
  state: {
    reported?: Record<string, unknown> | undefined;
    desired?: Record<string, unknown> | undefined;
  };
  /** Device JWT; without it the API key is used. */
  jwt?: string | undefined;
  /** Expected shadow version (optimistic locking); mismatch → ERR_CLOUD_CONFLICT. */
  ifMatch?: number | undefined;
}

/** UpdateDeviceState: merges a partial shadow document (202; 200 accepted too). */
export async function updateDeviceState(
  context: CloudContext,
  input: UpdateDeviceStateInput,
): Promise<void> {
  const headers: Record<string, string> = {};
  if (input.ifMatch !== undefined) headers["if-match"] = String(input.ifMatch);
  await context.send({
    method: "PATCH",
    url: context.url(`/devices/${devicePath(input.deviceId)}/state`),
    auth: deviceOrAccountAuth(context, input.jwt),
    body: JSON.stringify(input.state),
    contentType: "application/json",
    headers,
    expect: [200, 202],
  });
}

/** The device's shadow version (for `ifMatch`), if nRF Cloud reports one. */
export function shadowVersion(device: Device): number | undefined {
  return device.$meta?.version ?? device.state?.version;
}
