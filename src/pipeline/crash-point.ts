/**
 * Named points where a test can have the process killed (SIGKILL, as by a power cut) to check
 * what recovery makes of it. `NRF_PROVISION_TEST_CRASH_AT=<point>[@<deviceId>]` kills the
 * process the first time it reaches that point (for that device). Unset in normal use: a no-op.
 */
export type CrashPoint =
  /** The CA ledgered the certificate; the journal has not recorded `issued` yet. */
  | "issued-before-journal"
  /** The board's `provisioned` record is on disk; onboarding has not started. */
  | "after-provisioned"
  /** A batch is about to be uploaded; nothing of it is journaled yet. */
  | "before-batch-upload"
  /** `onboard-start` is journaled; the upload has not been sent. */
  | "upload-journaled"
  /** nRF Cloud accepted the upload; its bulk job ID is not journaled yet. */
  | "upload-accepted"
  /** On a line: the bulk job ID is in the line's upload queue and journaled; not waited for. */
  | "bulk-submitted";

export function crashPoint(point: CrashPoint, deviceIds: readonly string[] = []): void {
  const wanted = process.env.NRF_PROVISION_TEST_CRASH_AT;
  if (wanted === undefined || wanted === "") return;
  const [name, deviceId] = wanted.split("@");
  if (name !== point) return;
  if (deviceId !== undefined && !deviceIds.includes(deviceId)) return;
  process.kill(process.pid, "SIGKILL");
}
