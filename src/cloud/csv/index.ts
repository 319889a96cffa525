// Every nRF Cloud CSV in one place: the rules of each column, writing validated request
// bodies (OnboardDevices, RegisterCertificates, RegisterPublicKeys) and parsing them back.
export {
  type CsvRecord,
  parseCertificatesCsv,
  parseCsvRecords,
  parseOnboardingCsv,
  parsePublicKeysCsv,
  recordDeviceId,
  splitCsvRecords,
} from "./parse.js";
export {
  CERTIFICATE_PEM_PATTERN,
  type CertificateRow,
  CSV_FIRMWARE_TYPES,
  CSV_SUBTYPE_PATTERN,
  type CsvFirmwareType,
  DEFAULT_FIRMWARE_TYPES,
  type FirmwareType,
  JSON_FIRMWARE_TYPES,
  JSON_SUBTYPE_PATTERN,
  MAX_CSV_ROWS,
  type OnboardingRow,
  onboardingModality,
  onboardingPemProblem,
  PUBLIC_KEY_PEM_PATTERN,
  type PublicKeyRow,
  TAG_PATTERN,
} from "./rules.js";
export {
  buildOnboardingCsv,
  buildRegisterCertificatesCsv,
  buildRegisterPublicKeysCsv,
  type CsvBody,
  chunkRows,
  formatPemRow,
} from "./write.js";
