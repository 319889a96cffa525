import { deviceIdProblem } from "../device-id/index.js";
import { PipelineError } from "./errors.js";

/**
 * How a board's nRF Cloud device ID is chosen. It becomes the CSR's CN, the certificate
 * subject, and the ID onboarded; the device firmware must use the same one as its MQTT client
 * ID (a UUID vs `nrf-<IMEI>` mismatch is the usual cause of refused connections).
 */
export type DeviceIdPolicy =
  | { kind: "uuid" } // the modem's default CN: its device UUID
  | { kind: "imei"; prefix: string } // `<prefix><IMEI>`, passed to KEYGEN as CN
  | { kind: "fixed"; id: string }; // one literal ID (a single board)

/** Parses `--device-id uuid|imei|imei:PREFIX|ID`. */
export function parseDeviceIdPolicy(text: string): DeviceIdPolicy {
  if (text === "uuid") return { kind: "uuid" };
  if (text === "imei") return { kind: "imei", prefix: "nrf-" };
  if (text.startsWith("imei:")) {
    const prefix = text.slice("imei:".length);
    checkDeviceId(`${prefix}352656100367872`, `--device-id ${text}`);
    return { kind: "imei", prefix };
  }
  checkDeviceId(text, "--device-id");
  return { kind: "fixed", id: text };
}

/** The same rule the CA applies to a CSR's CN, checked before any board is touched. */
function checkDeviceId(id: string, source: string): void {
  const problem = deviceIdProblem(id);
  if (problem) {
    throw new PipelineError(
      "ERR_USAGE",
      `${source} gives the device ID "${id}", which nRF Cloud would refuse: ${problem}`,
    );
  }
}

/** The device ID a board gets under `policy`, from its identity. */
export function deviceIdFor(
  policy: DeviceIdPolicy,
  identity: { imei: string; deviceUuid: string },
): string {
  switch (policy.kind) {
    case "uuid":
      return identity.deviceUuid;
    case "imei":
      return `${policy.prefix}${identity.imei}`;
    case "fixed":
      return policy.id;
  }
}

/** The `%KEYGEN` attributes that make the modem put `deviceId` in the CSR (none for its UUID). */
export function keygenAttributesFor(policy: DeviceIdPolicy, deviceId: string): string | undefined {
  return policy.kind === "uuid" ? undefined : `CN=${deviceId}`;
}

/** Renders a policy back to its flag form, for summaries and the journal. */
export function formatDeviceIdPolicy(policy: DeviceIdPolicy): string {
  switch (policy.kind) {
    case "uuid":
      return "uuid";
    case "imei":
      return policy.prefix === "nrf-" ? "imei" : `imei:${policy.prefix}`;
    case "fixed":
      return policy.id;
  }
}
