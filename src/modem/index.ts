// Typed nRF91 modem operations over an AtClient: identity, functional mode, key generation,
// credential storage, modem-signed JWTs.

export {
  assertShellCanCarry,
  CREDENTIAL_TYPES,
  type CredentialEntry,
  type CredentialTypeName,
  credentialPayload,
  credentialSha256,
  credentialTypeName,
  deleteCredential,
  type LineEndings,
  listCredentials,
  parseCredentialType,
  readCredential,
  redactAtCommandForLog,
  type StoredCredential,
  type WriteCredentialOptions,
  type WriteCredentialResult,
  writeCredential,
} from "./credentials.js";
export { isCmeError, ModemError, type ModemErrorCode } from "./errors.js";
export {
  getFunctionalMode,
  OFFLINE_MODES,
  setFunctionalMode,
  withOfflineMode,
} from "./functional-mode.js";
export {
  checkFirmwareSupportsKeygen,
  compareFirmwareVersions,
  type FirmwareVersion,
  firmwareListsCredentialHashes,
  MIN_CREDENTIAL_HASH_FIRMWARE,
  MIN_KEYGEN_FIRMWARE,
  type ModemIdentity,
  parseFirmwareVersion,
  readDeviceUuid,
  readFirmware,
  readIdentity,
  readImei,
  readModel,
} from "./identity.js";
export { jwtCommand, type ModemJwt, type ModemJwtOptions, modemJwt } from "./jwt.js";
export {
  type KeygenOptions,
  keygen,
  keygenCommand,
  type ModemKeygenResult,
} from "./keygen.js";
export { assertUserSecTag, MAX_USER_SEC_TAG } from "./validate.js";
