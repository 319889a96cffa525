import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  webcrypto,
  X509Certificate,
} from "node:crypto";
import { lstat, readFile } from "node:fs/promises";
import { join } from "node:path";
import type * as X509Library from "@peculiar/x509";
import { fromPemAll, readCertificateElements, spkiPublicKeyBits, wholeOf } from "../der/index.js";
import { adviceFor, ensureDirectory, writeNewFile } from "../files/index.js";
import { DeviceCertificateTemplate } from "./certificate-template.js";
import { CaError } from "./errors.js";
import {
  CA_KEY_ITERATIONS,
  decryptCaKey,
  encryptPrivateKeyPem,
  type KeyProtection,
} from "./key-file.js";
import { type CaLedger, Ledger, type LedgerOptions, readLedger } from "./ledger.js";
import { SerialNumbers } from "./serial.js";
import { type CaSigner, isNodeWebCrypto, nodeKeySigner, webCryptoSigner } from "./signer.js";
import { BACKDATE_MS, caExpiredError, DAY_MS } from "./validity.js";

/** File names inside a CA directory. */
export const CA_FILES = {
  certificate: "ca.pem",
  privateKey: "ca.key.pem",
  ledger: "ledger.jsonl",
} as const;

/** The environment variable the CLI reads the CA passphrase from. */
export const CA_PASSPHRASE_ENV = "NRF_PROVISION_CA_PASSPHRASE";

export interface CaInfo {
  dir: string;
  files: { certificate: string; privateKey: string; ledger: string };
  subject: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  sha256Fingerprint: string;
  certificatePem: string;
}

/** A loaded CA: its certificate facts, its ledger, and what the issuer needs. */
export interface CertificateAuthority {
  readonly info: CaInfo;
  /** The file ledger of its folder, unless a station put the line's shared store in its place. */
  readonly ledger: CaLedger;
  /** Signs with the CA key through the configured provider. */
  readonly signer: CaSigner;
  readonly template: DeviceCertificateTemplate;
  /** Serial numbers for the certificates it issues (pooled CSPRNG output). */
  readonly serials: SerialNumbers;
  /** The CA key as a Node KeyObject (batch workers receive it; never serialised to disk). */
  readonly privateKey: KeyObject;
  /** True when `signer` is Node's own crypto (then worker threads can share the key). */
  readonly usesNodeCrypto: boolean;
  readonly clock: () => Date;
  close(): Promise<void>;
}

export interface InitCaOptions {
  dir: string;
  /** null only with the explicit insecure choice: the key is then stored unencrypted. */
  passphrase: string | null;
  commonName?: string | undefined;
  organization?: string | undefined;
  country?: string | undefined;
  days?: number;
  clock?: () => Date;
}

/** Creates a new P-256 CA in `dir`. Never overwrites: ERR_CA_EXISTS if either file is there. */
export async function initCa(options: InitCaOptions): Promise<CaInfo> {
  checkNewPassphrase(options.passphrase);
  checkCaSubject(options);
  const days = options.days ?? 3650;
  if (!Number.isInteger(days) || days < 1) {
    throw new CaError(
      "ERR_CA_INVALID_VALIDITY",
      `CA validity must be a positive number of days, got ${days}.`,
    );
  }
  const paths = caPaths(options.dir);
  await refuseExistingCa(options.dir, paths);
  await ensureDirectory(options.dir, { private: true });
  const { certificatePem, privateKey } = await createSelfSignedCa(options, days);
  const keyPem =
    options.passphrase === null
      ? (privateKey.export({ type: "pkcs8", format: "pem" }) as string)
      : await encryptPrivateKeyPem(privateKey, options.passphrase);
  // Key first: if writing the certificate fails, the directory still refuses a second init.
  await writeNewFile(paths.privateKey, keyPem, { private: true, caFile: true });
  await writeNewFile(paths.certificate, certificatePem, { caFile: true });
  // Created now, so that a later load can tell a lost ledger from a new one.
  await writeNewFile(paths.ledger, "", { caFile: true });
  return readCaInfo(options.dir);
}

/** ERR_CA_INVALID_SUBJECT for a country that is not ISO 3166, or an unprintable name. */
function checkCaSubject(options: Pick<InitCaOptions, "commonName" | "organization" | "country">) {
  const country = options.country;
  if (country !== undefined && !/^[A-Z]{2}$/.test(country)) {
    throw new CaError(
      "ERR_CA_INVALID_SUBJECT",
      `Country must be two capital letters (ISO 3166), got ${JSON.stringify(country)}.`,
    );
  }
  for (const [name, value] of [
    ["common name", options.commonName],
    ["organization", options.organization],
  ] as const) {
    // Copied into every certificate's issuer: a NUL or control character there misleads
    // whoever reads it (C strings end at NUL; terminals act on escapes).
    if (
      value !== undefined &&
      (/[\u0000-\u001f\u007f-\u009f]/.test(value) || value.length > 64 || value.trim() === "")
    ) {
      throw new CaError(
        "ERR_CA_INVALID_SUBJECT",
        `The CA ${name} must be 1 to 64 printable characters without control characters or NUL, got ${JSON.stringify(value)}.`,
      );
    }
  }
}

/** ERR_CA_EXISTS if `dir` already holds a CA certificate, key or ledger. */
async function refuseExistingCa(dir: string, paths: ReturnType<typeof caPaths>): Promise<void> {
  for (const path of [paths.certificate, paths.privateKey, paths.ledger]) {
    if (await exists(path)) {
      throw new CaError(
        "ERR_CA_EXISTS",
        path === paths.ledger
          ? `${dir} holds a CA ledger (${path}) of another CA; a new CA never shares it. Use another --dir.`
          : `A CA already exists in ${dir} (${path}); it is never overwritten. Use another --dir or remove the old CA yourself.`,
        { details: { path } },
      );
    }
  }
}

/** A fresh P-256 key and its self-signed CA certificate (critical basicConstraints CA:true). */
async function createSelfSignedCa(
  options: InitCaOptions,
  days: number,
): Promise<{ certificatePem: string; privateKey: KeyObject }> {
  const subtle = webcrypto.subtle;
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = (await subtle.generateKey(algorithm, true, ["sign", "verify"])) as CryptoKeyPair;
  const now = (options.clock ?? (() => new Date()))();
  const serial = randomBytes(20);
  serial[0] = (serial[0]! & 0x7f) | 0x40; // positive, and exactly 20 bytes (no sign byte needed)
  const x509 = await loadX509Library();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial.toString("hex"),
      name: caName(options),
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + days * DAY_MS),
      signingAlgorithm: algorithm,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(
          keys.publicKey,
          false,
          webcrypto as unknown as Crypto,
        ),
      ],
    },
    webcrypto as unknown as Crypto,
  );
  const pkcs8 = Buffer.from(await subtle.exportKey("pkcs8", keys.privateKey));
  return {
    certificatePem: `${certificate.toString("pem").replace(/\r\n/g, "\n")}\n`,
    privateKey: createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }),
  };
}

/**
 * @peculiar/x509 (with the reflect-metadata polyfill it needs) only for making a CA: it costs
 * more to load than most commands take to run, and reading a certificate needs only node:crypto.
 */
async function loadX509Library(): Promise<typeof X509Library> {
  await import("reflect-metadata");
  return import("@peculiar/x509");
}

function caName(options: InitCaOptions): X509Library.JsonName {
  const name: X509Library.JsonName = [];
  if (options.country) name.push({ C: [options.country] });
  if (options.organization) name.push({ O: [options.organization] });
  name.push({ CN: [options.commonName ?? "nrf-provision device CA"] });
  return name;
}

function checkNewPassphrase(passphrase: string | null): void {
  if (passphrase !== null && passphrase.length === 0) {
    throw new CaError(
      "ERR_CA_PASSPHRASE_REQUIRED",
      `An empty passphrase is refused: the CA key must be encrypted. Set ${CA_PASSPHRASE_ENV} (or pass --insecure-no-passphrase to store the key unencrypted).`,
    );
  }
}

export interface LoadCaOptions {
  dir: string;
  passphrase: string | null;
  /** WebCrypto provider that signs with the CA key (default: Node's built-in). */
  crypto?: Crypto;
  clock?: () => Date;
  ledger?: LedgerOptions;
  /** What to tell a user whose passphrase is missing (default: set NRF_PROVISION_CA_PASSPHRASE). */
  passphraseHint?: string;
  /** Told about a CA that works but is at risk (unencrypted key, world-writable folder …). */
  onWarning?: (message: string) => void;
}

/** Opens the CA in `dir`: decrypts the key, checks it matches the certificate, opens the ledger. */
export async function loadCa(options: LoadCaOptions): Promise<CertificateAuthority> {
  const clock = options.clock ?? (() => new Date());
  const info = await readCaInfo(options.dir);
  if (clock().getTime() > info.notAfter.getTime()) {
    throw caExpiredError(options.dir, info.notAfter);
  }
  const warn = options.onWarning ?? (() => {});
  const decrypted = readCaFile(info.files.privateKey, "private key").then((keyPem) =>
    decryptCaKey(
      keyPem,
      options.passphrase,
      info.files.privateKey,
      options.passphraseHint ?? `set ${CA_PASSPHRASE_ENV} or run interactively to be prompted`,
    ),
  );
  // With a passphrase, the key's PBKDF2 (on libuv's threads, 0.15–0.2 s here) overlaps reading
  // the ledger's serials in this one (about 0.3 s for 100,000 certificates). Without one the key
  // needs no derivation or is refused at once (then the CLI prompts and loads again), so the
  // ledger is read only after it.
  const opening =
    options.passphrase === null
      ? decrypted.then(() => Ledger.open(info.files.ledger, options.ledger))
      : Ledger.open(info.files.ledger, options.ledger);
  const [key, ledger] = await Promise.allSettled([decrypted, opening]);
  try {
    // Key problems first, as when the ledger was opened after the key.
    if (key.status === "rejected") throw key.reason;
    warnAboutProtection(info.files.privateKey, key.value.protection, warn);
    await warnIfWorldWritable(options.dir, warn);
    const certificateDer = fromPemAll(info.certificatePem, ["CERTIFICATE"])[0]!;
    const pieces = tbsPieces(certificateDer);
    checkKeyMatches(info, key.value.key, pieces.spkiDer);
    if (ledger.status === "rejected") throw ledger.reason;
    return await assembleCa(options, info, key.value.key, pieces, ledger.value, clock);
  } catch (error) {
    if (ledger.status === "fulfilled") await ledger.value.close();
    throw error;
  }
}

function checkKeyMatches(info: CaInfo, privateKey: KeyObject, spkiDer: Uint8Array): void {
  const keyMatches = createPublicKey(privateKey)
    .export({ type: "spki", format: "der" })
    .equals(spkiDer);
  if (!keyMatches) {
    throw new CaError(
      "ERR_CA_KEY_MISMATCH",
      `The private key ${info.files.privateKey} does not belong to the certificate ${info.files.certificate}; restore the matching pair from your backup.`,
    );
  }
}

/** The opened CA from its checked parts: the signer (Node's or a WebCrypto provider's), the template. */
async function assembleCa(
  options: LoadCaOptions,
  info: CaInfo,
  privateKey: KeyObject,
  { subjectDer, spkiDer }: ReturnType<typeof tbsPieces>,
  ledger: Ledger,
  clock: () => Date,
): Promise<CertificateAuthority> {
  const provider = options.crypto ?? (webcrypto as unknown as Crypto);
  const usesNodeCrypto = isNodeWebCrypto(provider);
  const signer = usesNodeCrypto
    ? nodeKeySigner(privateKey)
    : webCryptoSigner(
        provider,
        await provider.subtle.importKey(
          "pkcs8",
          privateKey.export({ type: "pkcs8", format: "der" }),
          { name: "ECDSA", namedCurve: "P-256" },
          false,
          ["sign"],
        ),
      );
  const template = new DeviceCertificateTemplate({
    subjectDer,
    subjectKeyIdentifier: createHash("sha1").update(spkiPublicKeyBits(spkiDer)).digest(),
  });
  return {
    info,
    ledger,
    signer,
    template,
    serials: new SerialNumbers(),
    privateKey,
    usesNodeCrypto,
    clock,
    close: () => ledger.close(),
  };
}

/** Reads the CA certificate facts (no passphrase needed). ERR_CA_NOT_FOUND if missing. */
export async function readCaInfo(dir: string): Promise<CaInfo> {
  const files = caPaths(dir);
  const certificatePem = await readCaFile(files.certificate, "certificate");
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificatePem);
  } catch (error) {
    throw new CaError(
      "ERR_CA_INVALID",
      `${files.certificate} is not a PEM certificate; restore it from your backup.`,
      { cause: error },
    );
  }
  return {
    dir,
    files,
    // node:crypto lists the RDNs one per line; one line reads "C=NO, O=…, CN=…".
    subject: certificate.subject.split("\n").join(", "),
    serialNumber: certificate.serialNumber.toLowerCase(),
    notBefore: new Date(certificate.validFrom),
    notAfter: new Date(certificate.validTo),
    sha256Fingerprint: createHash("sha256").update(certificate.raw).digest("hex"),
    certificatePem,
  };
}

/** Number of certificates recorded in the CA's ledger (torn records not counted). */
export async function countIssued(info: CaInfo): Promise<number> {
  return (await readLedger(info.files.ledger)).entries.length;
}

const REENCRYPT = (path: string) =>
  `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256 -iter ${CA_KEY_ITERATIONS} -in ${path} -out ${path}.new (then move it over the old file)`;

function warnAboutProtection(
  path: string,
  protection: KeyProtection,
  warn: (message: string) => void,
): void {
  if (protection.kind === "unencrypted") {
    warn(
      `The CA key ${path} is NOT encrypted: anyone who can read it can issue certificates your devices and nRF Cloud trust. Encrypt it: ${REENCRYPT(path)}.`,
    );
  } else if (protection.kind === "legacy-encrypted") {
    warn(
      `The CA key ${path} uses OpenSSL's legacy PEM encryption (one MD5 round from the passphrase): re-encrypt it as PKCS#8: ${REENCRYPT(path)}.`,
    );
  } else if (protection.iterations !== null && protection.iterations < 100_000) {
    warn(
      `The CA key ${path} is encrypted with only ${protection.iterations} PBKDF2 iterations (keys since this version use ${CA_KEY_ITERATIONS}); consider re-encrypting it: ${REENCRYPT(path)}.`,
    );
  }
}

/** Anyone on the machine could replace the key, certificate or ledger in such a folder. */
async function warnIfWorldWritable(dir: string, warn: (message: string) => void): Promise<void> {
  const stats = await lstat(dir).catch(() => undefined);
  if (stats !== undefined && (stats.mode & 0o002) !== 0) {
    warn(
      `The CA folder ${dir} is writable by every user: anyone could swap its key, certificate or ledger. Run "chmod o-w ${dir}" (0700 is best).`,
    );
  }
}

/** Subject Name and SubjectPublicKeyInfo of a certificate, as exact DER slices. */
function tbsPieces(certificateDer: Uint8Array): { subjectDer: Uint8Array; spkiDer: Uint8Array } {
  const { subject, spki } = readCertificateElements(certificateDer);
  return { subjectDer: wholeOf(certificateDer, subject), spkiDer: wholeOf(certificateDer, spki) };
}

function caPaths(dir: string): CaInfo["files"] {
  return {
    certificate: join(dir, CA_FILES.certificate),
    privateKey: join(dir, CA_FILES.privateKey),
    ledger: join(dir, CA_FILES.ledger),
  };
}

async function readCaFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new CaError(
        "ERR_CA_NOT_FOUND",
        `CA ${what} not found: ${path}. Create a CA with "nrf-provision ca init --dir <dir>" or point --dir at an existing one.`,
        { details: { path } },
      );
    }
    const errno = (error as NodeJS.ErrnoException).code;
    throw new CaError(
      "ERR_CA_UNREADABLE",
      `Cannot read the CA ${what} ${path} (${errno ?? (error as Error).message}). ${adviceFor(errno, path)}`,
      { cause: error, details: { path, errno } },
    );
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
