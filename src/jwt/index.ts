// Device JWTs: ES256 tokens a device (or a test standing in for one) presents to nRF Cloud.
export {
  type MintBatchOptions,
  type MintBatchRow,
  mintBatch,
  parseMintBatch,
  readMintBatchFile,
} from "./batch.js";
export {
  DEFAULT_JWT_LIFETIME_SECONDS,
  type DeviceJwtClaims,
  type DeviceJwtHeader,
  MAX_JWT_LIFETIME_SECONDS,
} from "./claims.js";
export { JwtError, type JwtErrorCode } from "./errors.js";
export {
  buildPublicKeysCsv,
  numberedDeviceIds,
  readDevicePrivateKeyFile,
  readDevicePublicKeyFile,
  type WrittenDeviceKeyPair,
  writeDeviceKeyPairs,
} from "./files.js";
export {
  type DeviceKeyPairPem,
  generateDeviceKeyPair,
  publicKeyKid,
  toDevicePrivateKey,
  toDevicePublicKey,
} from "./keys.js";
export {
  createDeviceJwtSigner,
  type DeviceJwtMintOptions,
  type DeviceJwtSigner,
  type DeviceJwtSignerOptions,
  type MintDeviceJwtOptions,
  mintDeviceJwt,
} from "./sign.js";
export {
  DEFAULT_JWT_CLOCK_TOLERANCE_SECONDS,
  type DecodedDeviceJwt,
  decodeDeviceJwt,
  type VerifiedDeviceJwt,
  type VerifyDeviceJwtOptions,
  verifyDeviceJwt,
} from "./verify.js";
