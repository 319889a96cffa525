// What the provisioning pipeline needs of onboarding: the step's interface, a board's row and
// `--onboard none`. Apart from onboarding.ts so that a run without onboarding loads none of the
// nRF Cloud client (start-up, issue 12); the CSV rules are the one cloud module it reads.
import { DEFAULT_FIRMWARE_TYPES } from "../cloud/csv/rules.js";
import type { OnboardingRow } from "../cloud/index.js";

/** The parts of an onboarding row that are the same for every board of a run. */
export type OnboardingFields = Omit<OnboardingRow, "deviceId" | "certificate">;

/** A board's onboarding row; firmware types default to APP|MODEM (an empty list is kept). */
export function onboardingRowFor(
  deviceId: string,
  certificate: string,
  fields: OnboardingFields = {},
): OnboardingRow {
  return {
    deviceId,
    certificate,
    ...fields,
    supportedFirmwareTypes: fields.supportedFirmwareTypes ?? DEFAULT_FIRMWARE_TYPES,
  };
}

export type OnboardingOutcome =
  | { mode: "none" }
  | { mode: "single"; status: "onboarded" | "already-onboarded" }
  | { mode: "csv"; file: string; status: "appended" | "replaced" }
  | { mode: "batch"; status: "queued" | "already-onboarded" };

/** The last step of a board: hand its certificate to nRF Cloud, now or later. */
export interface Onboarder {
  onboard(row: OnboardingRow): Promise<OnboardingOutcome>;
}

/** `--onboard none`: the board is provisioned, nothing is uploaded. */
export const skipOnboarding: Onboarder = {
  onboard: async () => ({ mode: "none" }),
};

/** How a run onboards its boards (options of local and remote provisioning). */
export interface OnboardingChoice {
  /** The onboarding step; none (`skipOnboarding`) when left out. */
  onboarder?: Onboarder | undefined;
  /** subType, tags, fwTypes for the onboarding row. */
  onboardingFields?: OnboardingFields;
}

/** The onboarding step of one board that has its certificate, as the run chose it. */
export function onboardBoard(
  choice: OnboardingChoice,
  deviceId: string,
  certificatePem: string,
): Promise<OnboardingOutcome> {
  const row = onboardingRowFor(deviceId, certificatePem, choice.onboardingFields);
  return (choice.onboarder ?? skipOnboarding).onboard(row);
}
