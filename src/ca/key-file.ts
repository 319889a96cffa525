import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  type KeyObject,
  pbkdf2,
  randomBytes,
} from "node:crypto";
import { promisify } from "node:util";
import {
  contentOf,
  DerError,
  encodeOid,
  encodeSequence,
  encodeTlv,
  encodeUnsignedInteger,
  pemBlocks,
  readChildren,
  readOid,
  readSingle,
  Tag,
  toPem,
} from "../der/index.js";
import { CaError } from "./errors.js";

/**
 * PBKDF2-HMAC-SHA256 iterations for a new CA key: OWASP's 2023 figure for SHA-256. Node's
 * KeyObject.export always writes 2048, which a GPU tries ~300 times faster; deriving costs
 * about 0.3 s here, once per `ca init` and once per load.
 */
export const CA_KEY_ITERATIONS = 600_000;

/** More than this is no key anyone wrote by choice: deriving 10^7 takes ~5 s. */
const MAX_ITERATIONS = 10_000_000;

const OID = {
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  hmacWithSha256: "1.2.840.113549.2.9",
  aes256Cbc: "2.16.840.1.101.3.4.1.42",
} as const;

const pbkdf2Async = promisify(pbkdf2);

/**
 * PKCS#8 `EncryptedPrivateKeyInfo` PEM (PBES2: PBKDF2-HMAC-SHA256 with `iterations`, a 16-byte
 * salt, AES-256-CBC), built with the project's DER writer; OpenSSL and Node read it.
 */
export async function encryptPrivateKeyPem(
  privateKey: KeyObject,
  passphrase: string,
  iterations = CA_KEY_ITERATIONS,
): Promise<string> {
  const pkcs8 = privateKey.export({ type: "pkcs8", format: "der" });
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = await pbkdf2Async(passphrase, salt, iterations, 32, "sha256");
  const cipher = createCipheriv("aes-256-cbc", key, iv);
  const encrypted = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
  const der = encodeSequence(
    encodeSequence(
      encodeOid(OID.pbes2),
      encodeSequence(
        encodeSequence(
          encodeOid(OID.pbkdf2),
          encodeSequence(
            encodeTlv(Tag.OCTET_STRING, salt),
            encodeUnsignedInteger(integerBytes(iterations)),
            encodeSequence(encodeOid(OID.hmacWithSha256), encodeTlv(Tag.NULL)),
          ),
        ),
        encodeSequence(encodeOid(OID.aes256Cbc), encodeTlv(Tag.OCTET_STRING, iv)),
      ),
    ),
    encodeTlv(Tag.OCTET_STRING, encrypted),
  );
  return toPem("ENCRYPTED PRIVATE KEY", der);
}

/** How a CA key file is protected, as far as its PEM tells. */
export type KeyProtection =
  | { kind: "pkcs8-encrypted"; iterations: number | null }
  | { kind: "legacy-encrypted" }
  | { kind: "unencrypted" };

/**
 * Reads a CA key PEM: PKCS#8 encrypted (ours, or OpenSSL's with any PBES2 parameters), legacy
 * OpenSSL-encrypted (`openssl ec -aes256`: Proc-Type header), or unencrypted. Tells a damaged
 * file (ERR_CA_KEY_CORRUPT) from a wrong passphrase (ERR_CA_PASSPHRASE) where the file allows.
 */
export async function decryptCaKey(
  pem: string,
  passphrase: string | null,
  path: string,
  passphraseHint: string,
): Promise<{ key: KeyObject; protection: KeyProtection }> {
  const blocks = pemBlocks(pem).filter((block) => block.label.endsWith("PRIVATE KEY"));
  if (blocks.length !== 1) throw corrupt(path, "it holds no single PEM private key block");
  const block = blocks[0]!;
  const legacy = block.label !== "ENCRYPTED PRIVATE KEY" && /Proc-Type:\s*4,\s*ENCRYPTED/.test(pem);
  const protection: KeyProtection =
    block.label === "ENCRYPTED PRIVATE KEY"
      ? { kind: "pkcs8-encrypted", iterations: pbkdf2Iterations(block.der, path) }
      : legacy
        ? { kind: "legacy-encrypted" }
        : { kind: "unencrypted" };
  if (protection.kind === "unencrypted") {
    try {
      return { key: createPrivateKey({ key: pem, format: "pem" }), protection };
    } catch (error) {
      throw corrupt(path, "it is not a readable private key", error);
    }
  }
  if (passphrase === null) {
    throw new CaError(
      "ERR_CA_PASSPHRASE_REQUIRED",
      `The CA key ${path} is encrypted; ${passphraseHint}.`,
    );
  }
  const derived =
    protection.kind === "pkcs8-encrypted" ? await ourDecryption(block.der, passphrase) : undefined;
  try {
    const key =
      derived !== undefined
        ? createPrivateKey({ key: Buffer.from(derived), format: "der", type: "pkcs8" })
        : createPrivateKey({ key: pem, format: "pem", passphrase });
    return { key, protection };
  } catch (error) {
    throw new CaError(
      "ERR_CA_PASSPHRASE",
      `Wrong passphrase for the CA key ${path}: it could not be decrypted (the file's structure is intact). Check the passphrase (${passphraseHint}).`,
      { cause: error, details: { path } },
    );
  }
}

/**
 * Decrypts our own scheme (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC) off the event loop: a
 * 600,000-iteration derivation would block it for a third of a second in OpenSSL's path.
 * Undefined for other schemes (OpenSSL then decrypts); a wrong passphrase gives bytes that
 * fail padding or are not PKCS#8, which createPrivateKey then reports.
 */
async function ourDecryption(der: Uint8Array, passphrase: string): Promise<Uint8Array | undefined> {
  const fields = pbes2Fields(der);
  if (fields === undefined) return undefined;
  const key = await pbkdf2Async(passphrase, fields.salt, fields.iterations, 32, "sha256");
  try {
    const decipher = createDecipheriv("aes-256-cbc", key, fields.iv);
    return Buffer.concat([decipher.update(fields.encrypted), decipher.final()]);
  } catch {
    return new Uint8Array(0); // bad padding: the passphrase is wrong
  }
}

interface Pbes2Fields {
  salt: Uint8Array;
  iterations: number;
  iv: Uint8Array;
  encrypted: Uint8Array;
}

/** The fields of our exact scheme, or undefined for any other (valid) one. */
function pbes2Fields(der: Uint8Array): Pbes2Fields | undefined {
  try {
    return ourSchemeFields(der);
  } catch {
    return undefined; // valid for OpenSSL (checked before) but not our shape
  }
}

function ourSchemeFields(der: Uint8Array): Pbes2Fields | undefined {
  const info = readSingle(der, Tag.SEQUENCE, "EncryptedPrivateKeyInfo");
  const [algorithm, encrypted] = readChildren(der, info);
  const [algorithmOid, params] = readChildren(der, algorithm!);
  if (readOid(der, algorithmOid!, "encryption algorithm") !== OID.pbes2) return undefined;
  const [kdf, scheme] = readChildren(der, params!);
  const [kdfOid, kdfParams] = readChildren(der, kdf!);
  const [schemeOid, iv] = readChildren(der, scheme!);
  if (readOid(der, kdfOid!, "KDF") !== OID.pbkdf2) return undefined;
  if (readOid(der, schemeOid!, "cipher") !== OID.aes256Cbc) return undefined;
  const [salt, count, ...rest] = readChildren(der, kdfParams!);
  const prf = rest.find((element) => element.tag === Tag.SEQUENCE);
  const prfOid = prf === undefined ? undefined : readOid(der, readChildren(der, prf)[0]!, "PRF");
  if (
    prfOid !== OID.hmacWithSha256 ||
    salt?.tag !== Tag.OCTET_STRING ||
    iv?.tag !== Tag.OCTET_STRING
  ) {
    return undefined;
  }
  return {
    salt: contentOf(der, salt),
    iterations: integerValue(contentOf(der, count!)),
    iv: contentOf(der, iv),
    encrypted: contentOf(der, encrypted!),
  };
}

/** PBKDF2 iteration count of a PKCS#8 encrypted key (null if not PBKDF2); corrupt if unreadable. */
function pbkdf2Iterations(der: Uint8Array, path: string): number | null {
  try {
    const info = readSingle(der, Tag.SEQUENCE, "EncryptedPrivateKeyInfo");
    const [algorithm, encrypted, ...rest] = readChildren(der, info);
    if (!algorithm || encrypted?.tag !== Tag.OCTET_STRING || rest.length > 0) {
      throw new DerError("EncryptedPrivateKeyInfo needs an algorithm and an OCTET STRING");
    }
    const [algorithmOid, params] = readChildren(der, algorithm);
    if (readOid(der, algorithmOid!, "encryption algorithm") !== OID.pbes2 || !params) return null;
    const [kdf] = readChildren(der, params);
    const [kdfOid, kdfParams] = readChildren(der, kdf!);
    if (readOid(der, kdfOid!, "KDF") !== OID.pbkdf2 || !kdfParams) return null;
    const [, count] = readChildren(der, kdfParams);
    if (count?.tag !== Tag.INTEGER) throw new DerError("PBKDF2 iteration count missing");
    const iterations = integerValue(contentOf(der, count));
    if (iterations > MAX_ITERATIONS) {
      throw new DerError(`${iterations} PBKDF2 iterations would take hours to derive`);
    }
    return iterations;
  } catch (error) {
    throw corrupt(path, `its encrypted structure is damaged (${(error as Error).message})`, error);
  }
}

function corrupt(path: string, why: string, cause?: unknown): CaError {
  return new CaError(
    "ERR_CA_KEY_CORRUPT",
    `The CA key ${path} is damaged: ${why}. This is not a passphrase problem; restore ca.key.pem from your backup.`,
    { cause, details: { path } },
  );
}

function integerBytes(value: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Uint8Array.from(bytes.length === 0 ? [0] : bytes);
}

function integerValue(content: Uint8Array): number {
  if (content.length === 0 || content.length > 6 || content[0]! & 0x80) {
    throw new DerError("iteration count is not a small positive INTEGER");
  }
  let value = 0;
  for (const byte of content) value = value * 256 + byte;
  return value;
}
