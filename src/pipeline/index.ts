// The pipeline: provision one board (bench), many boards with a journal (factory station),
// and the self-contained demo. Built on modem/, attest/, ca/, cloud/ and jwt/.

export {
  type DemoOptions,
  type DemoReport,
  demoHeadline,
  formatDemoSummary,
  runDemo,
} from "./demo.js";
export {
  type DeviceIdPolicy,
  deviceIdFor,
  formatDeviceIdPolicy,
  keygenAttributesFor,
  parseDeviceIdPolicy,
} from "./device-id.js";
export {
  type BoardLabel,
  describeBoard,
  PipelineError,
  type PipelineErrorCode,
  ProvisionError,
} from "./errors.js";
export {
  type DeviceHistory,
  Journal,
  type JournalFact,
  type JournalRecord,
  type ProvisionJournal,
  parseJournalText,
  type StationJournal,
} from "./journal.js";
export {
  type Onboarder,
  type OnboardingFields,
  type OnboardingOutcome,
  onboardingRowFor,
  skipOnboarding,
} from "./onboarder.js";
export { appendToOnboardingCsv, onboardEachDevice, splitCsvRecords } from "./onboarding.js";
export {
  type BoardConnection,
  type CredentialCheck,
  defaultSecTag,
  type ProvisionOptions,
  type ProvisionResult,
  provisionBoard,
} from "./provision.js";
export { formatProvisionSummary, formatTimings } from "./report.js";
export { loadRootCaBundle } from "./root-ca.js";
export {
  runStation,
  type StationBoardOptions,
  type StationEvent,
  type StationOptions,
  type StationSummary,
} from "./station.js";
export {
  type BoardRow,
  LiveView,
  type LiveViewOptions,
  type LiveViewTerminal,
  layoutBoardRows,
} from "./station-live-view.js";
export {
  type OnboardingResult,
  StationOnboarding,
  type StationOnboardMode,
} from "./station-onboarding.js";
export { formatStationSummary, jsonlEventWriter, plainEventWriter } from "./station-output.js";
export { type StepEvent, type StepName, StepRunner, type StepTiming, stepNames } from "./steps.js";
