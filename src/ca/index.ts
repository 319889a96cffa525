// Local certificate authority: create/load a P-256 CA, issue ES256 device certificates from
// modem CSRs (fast DER-template path), and record every certificate in an append-only ledger.

export {
  CA_FILES,
  CA_PASSPHRASE_ENV,
  type CaInfo,
  type CertificateAuthority,
  countIssued,
  type InitCaOptions,
  initCa,
  type LoadCaOptions,
  loadCa,
  readCaInfo,
} from "./authority.js";
export { type BatchItem, type BatchOptions, type BatchResult, issueBatch } from "./batch.js";
export {
  csrFileItems,
  keygenFileItems,
  keygenItem,
  outputFailed,
  refuseBatchOutputs,
  writeBatchFiles,
} from "./batch-files.js";
export type { CertificateProfile } from "./certificate-template.js";
export {
  parseCertificationRequest,
  verifyCsr,
} from "./csr.js";
export { chunkRows, REGISTER_CERTIFICATES_MAX_ROWS, registerCertificatesCsv } from "./csv.js";
export {
  DELEGATED_ROOT_FILE,
  type DelegateCaOptions,
  delegateCa,
  ROOT_CA_PASSPHRASE_ENV,
  readDelegatedRoot,
} from "./delegate.js";
export { CaError, type CaErrorCode } from "./errors.js";
export { type IssuedCertificate, type IssueOptions, issueDeviceCertificate } from "./issue.js";
export {
  type CaLedger,
  Ledger,
  type LedgerContents,
  type LedgerEntry,
  type LedgerQuery,
  readLedger,
} from "./ledger.js";
