// Pure parsers and encoders for nRF91 attestation output: %KEYGEN (CSR or public key + COSE)
// and %ATTESTTOKEN. Synchronous, no I/O; the simulator uses the encoders so layouts agree.

export {
  type AttestationMessageFields,
  type AttestationToken,
  buildAttestationPayload,
  DEVICE_TYPE_NAMES,
  deviceTypeName,
  deviceTypeOfModel,
  isBareAttestationMessage,
  parseAttestationMessage,
  parseAttestationToken,
  type UnattestedAttestationMessage,
  verifyAttestation,
} from "./attesttoken.js";
export { CoseKeyId, encodeCoseSign1 } from "./cose.js";
export {
  type CertificationRequest,
  checkRequestSignature,
  formatSubject,
  type RequestSignatureVerdict,
  readCertificationRequest,
} from "./csr.js";
export { AttestError, type AttestErrorCode } from "./errors.js";
export {
  assertKeygenTrusted,
  buildKeygenPayload,
  type DigestStatus,
  isBareKeygenBody,
  KeygenMessageType,
  type KeygenOutput,
  type KeygenPayloadFields,
  parseKeygenBody,
  parseKeygenOutput,
  type UnattestedKeygenOutput,
} from "./keygen.js";
