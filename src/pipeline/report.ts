import type { ProvisionResult } from "./provision.js";
import type { StepTiming } from "./steps.js";

/**
 * The human summary of one provisioned board (step 9). `steps: false` leaves out the step
 * times, for output that told them as they happened.
 */
export function formatProvisionSummary(
  result: ProvisionResult,
  options: { steps?: boolean } = {},
): string[] {
  const { credentials } = result;
  const check = (written: boolean, verified: boolean, sha256: string) =>
    `${written ? "written" : "already there"}, ${verified ? "verified" : "NOT verified"} (SHA-256 ${sha256})`;
  const headline =
    result.outcome === "provisioned"
      ? "provisioned"
      : result.outcome === "resumed"
        ? "finished provisioning (resumed)"
        : "already provisioned";
  return [
    `${headline} ${result.deviceId} on ${result.port}`,
    `  device ID     ${result.deviceId}`,
    `  IMEI          ${result.imei}`,
    `  device UUID   ${result.deviceUuid}`,
    `  modem         ${result.model}, ${result.firmware}`,
    `  sec tag       ${result.secTag}`,
    `  certificate   serial ${result.certificate.serialNumber}, SHA-256 fingerprint ${result.certificate.sha256Fingerprint}`,
    `  root CA       ${check(credentials.rootCa.written, credentials.rootCa.verified, credentials.rootCa.sha256)}`,
    `  client cert   ${check(credentials.certificate.written, credentials.certificate.verified, credentials.certificate.sha256)}`,
    `  private key   ${credentials.privateKey.present ? "present (made by the modem; never leaves it)" : "MISSING"}`,
    `  onboarding    ${describeOnboarding(result)}`,
    `  mode          restored to ${result.functionalMode.before}`,
    ...(options.steps === false ? [] : [`  steps         ${formatTimings(result.steps)}`]),
    `  total         ${result.totalMs} ms`,
  ];
}

function describeOnboarding(result: ProvisionResult): string {
  const outcome = result.onboarding;
  switch (outcome.mode) {
    case "none":
      return "none (--onboard none)";
    case "single":
      return `OnboardDevice: ${outcome.status}`;
    case "csv":
      return `row ${outcome.status} in ${outcome.file} (upload it with \`nrf-provision cloud onboard --csv ${outcome.file}\`)`;
    case "batch":
      return `bulk: ${outcome.status}`;
  }
}

/** "connect 12 ms, identity 40 ms, keygen skipped (…)" */
export function formatTimings(timings: readonly StepTiming[]): string {
  return timings
    .map((timing) =>
      timing.status === "skipped"
        ? `${timing.step} skipped`
        : `${timing.step} ${timing.ms} ms${timing.status === "failed" ? " (failed)" : ""}`,
    )
    .join(", ");
}
