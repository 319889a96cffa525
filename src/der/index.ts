// DER reading/writing and PEM armour shared by attest/, ca/ and sim/: pure, synchronous,
// no dependencies. Parsers throw DerError; each layer maps it to its own error code.

export {
  bitStringBytes,
  type CertificateElements,
  contentOf,
  type DerElement,
  DerError,
  decodeOid,
  encodeBitString,
  encodeLength,
  encodeOid,
  encodeSequence,
  encodeTime,
  encodeTlv,
  encodeUnsignedInteger,
  expectElement,
  expectTag,
  readCertificateElements,
  readChildren,
  readElement,
  readOid,
  readSingle,
  spkiPublicKeyBits,
  Tag,
  wholeOf,
} from "./der.js";
export { fromPemAll, toPem } from "./pem.js";
