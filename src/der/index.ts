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
  encodedTimeLength,
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
  tlvLength,
  wholeOf,
  writeHeader,
  writeTime,
} from "./der.js";
// Every OID the project names (oids.ts holds nothing else).
export * from "./oids.js";
export { fromPemAll, type PemBlock, pemBlocks, toPem } from "./pem.js";
