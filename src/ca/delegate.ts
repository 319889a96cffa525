import { createPrivateKey, randomBytes, webcrypto } from "node:crypto";
import { lstat, readFile } from "node:fs/promises";
import { join } from "node:path";
import type * as X509Library from "@peculiar/x509";
import { ensureDirectory, writeNewFile } from "../files/index.js";
import { CA_FILES, type CaInfo, type CertificateAuthority, readCaInfo } from "./authority.js";
import { CaError } from "./errors.js";
import { encryptPrivateKeyPem } from "./key-file.js";

/** In a station's CA directory: a copy of the line's root certificate, the top of the chain. */
export const DELEGATED_ROOT_FILE = "root.pem";

/** The environment variable `ca delegate` reads the root CA's passphrase from. */
export const ROOT_CA_PASSPHRASE_ENV = "NRF_PROVISION_ROOT_CA_PASSPHRASE";

/** Station IDs name the CA in its subject and in file names: kept to a safe alphabet. */
const STATION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
const BACKDATE_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

export interface DelegateCaOptions {
  /** The line's root CA, loaded with its passphrase. */
  root: CertificateAuthority;
  station: string;
  /** The new station CA directory (must not hold a CA). */
  dir: string;
  /** Passphrase for the station CA's own key; null only with the explicit insecure choice. */
  passphrase: string | null;
  /** Validity in days (default 365), never past the root's expiry. */
  days?: number;
}

/**
 * Issues a station's intermediate CA under the root: a P-256 key of its own, a certificate with
 * basicConstraints CA:TRUE pathLen 0 and keyUsage keyCertSign + cRLSign (both critical), and a
 * copy of the root beside it. The result is a normal CA directory (`provision`, `station`,
 * `ca issue` use it as is) whose device certificates chain to the root.
 */
export async function delegateCa(options: DelegateCaOptions): Promise<CaInfo> {
  checkStationId(options.station);
  checkPassphrase(options.passphrase);
  const days = options.days ?? 365;
  if (!Number.isInteger(days) || days < 1) {
    throw new CaError(
      "ERR_CA_INVALID_VALIDITY",
      `Station CA validity must be a positive number of days, got ${days}.`,
    );
  }
  const x509 = await loadX509Library();
  const rootCertificate = new x509.X509Certificate(options.root.info.certificatePem);
  refuseIntermediate(x509, rootCertificate, options.root.info);
  await refuseExistingCa(options.dir);
  await ensureDirectory(options.dir, { private: true });

  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: newSerialHex(),
      subject: stationName(rootCertificate, options.station),
      issuer: new x509.Name(Buffer.from(options.root.template.ca.subjectDer)),
      ...validity(options.root, days),
      publicKey: keys.publicKey,
      signingKey: await rootSigningKey(options.root),
      signingAlgorithm: algorithm,
      extensions: await intermediateExtensions(x509, rootCertificate, keys.publicKey),
    },
    webcrypto as unknown as Crypto,
  );
  await writeStationCa(options, keys.privateKey, certificate.toString("pem"));
  return readCaInfo(options.dir);
}

/**
 * The certificate of the root a station CA was delegated from, or undefined for a CA that is
 * its own root (made by `ca init`).
 */
export async function readDelegatedRoot(dir: string): Promise<string | undefined> {
  try {
    return await readFile(join(dir, DELEGATED_ROOT_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CaError(
      "ERR_CA_UNREADABLE",
      `Cannot read the root certificate ${join(dir, DELEGATED_ROOT_FILE)} of the station CA (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`,
      { cause: error },
    );
  }
}

/** @peculiar/x509 only here and in `ca init`: it is slow to load (issue 12). */
async function loadX509Library(): Promise<typeof X509Library> {
  await import("reflect-metadata");
  return import("@peculiar/x509");
}

function checkStationId(station: string): void {
  if (!STATION_ID.test(station)) {
    throw new CaError(
      "ERR_CA_INVALID_SUBJECT",
      `A station ID is 1 to 32 letters, digits, ".", "_" or "-", starting with a letter or digit; got ${JSON.stringify(station)}.`,
    );
  }
}

function checkPassphrase(passphrase: string | null): void {
  if (passphrase !== null && passphrase.length === 0) {
    throw new CaError(
      "ERR_CA_PASSPHRASE_REQUIRED",
      "An empty passphrase is refused: the station CA key must be encrypted.",
    );
  }
}

/** A CA with pathLen 0 (a station CA) may sign devices only, never another CA. */
function refuseIntermediate(
  x509: typeof X509Library,
  certificate: X509Library.X509Certificate,
  info: CaInfo,
): void {
  const constraints = certificate.getExtension(x509.BasicConstraintsExtension);
  if (constraints?.ca !== true) {
    throw new CaError(
      "ERR_CA_NOT_A_ROOT",
      `${info.files.certificate} is not a CA certificate (no basicConstraints CA:TRUE); delegate from the line's root made by "ca init".`,
      { details: { path: info.files.certificate } },
    );
  }
  if (constraints.pathLength === 0) {
    throw new CaError(
      "ERR_CA_NOT_A_ROOT",
      `The CA in ${info.dir} is itself an intermediate (pathLen 0: "${info.subject}"); it can sign device certificates only. Delegate from the line's root CA (the directory made by "ca init").`,
      { details: { path: info.files.certificate } },
    );
  }
}

async function refuseExistingCa(dir: string): Promise<void> {
  for (const name of [CA_FILES.certificate, CA_FILES.privateKey, CA_FILES.ledger]) {
    const path = join(dir, name);
    const found = await lstat(path).then(
      () => true,
      () => false,
    );
    if (found) {
      throw new CaError(
        "ERR_CA_EXISTS",
        `A CA already exists in ${dir} (${path}); it is never overwritten. Use another --out-dir.`,
        { details: { path } },
      );
    }
  }
}

/** The root's country and organization, with the station as common name. */
function stationName(root: X509Library.X509Certificate, station: string): X509Library.JsonName {
  const kept = root.subjectName
    .toJSON()
    .filter((rdn) => Object.keys(rdn).every((type) => type === "C" || type === "O"));
  return [...kept, { CN: [`nrf-provision station ${station} CA`] }];
}

function validity(root: CertificateAuthority, days: number): { notBefore: Date; notAfter: Date } {
  const now = root.clock().getTime();
  // Backdated for clock skew, but never before the root itself is valid.
  const backdated = Math.floor((now - BACKDATE_MS) / 1000) * 1000;
  const notBefore = new Date(Math.max(backdated, root.info.notBefore.getTime()));
  const requested = Math.floor((now + days * DAY_MS) / 1000) * 1000;
  return { notBefore, notAfter: new Date(Math.min(requested, root.info.notAfter.getTime())) };
}

function newSerialHex(): string {
  const serial = randomBytes(20);
  serial[0] = (serial[0]! & 0x7f) | 0x40; // positive, exactly 20 bytes
  return serial.toString("hex");
}

async function rootSigningKey(root: CertificateAuthority): Promise<CryptoKey> {
  return webcrypto.subtle.importKey(
    "pkcs8",
    root.privateKey.export({ type: "pkcs8", format: "der" }),
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  ) as Promise<CryptoKey>;
}

async function intermediateExtensions(
  x509: typeof X509Library,
  root: X509Library.X509Certificate,
  publicKey: CryptoKey,
): Promise<X509Library.Extension[]> {
  const crypto = webcrypto as unknown as Crypto;
  // The root's own key identifier, so that chain building matches it exactly.
  const rootKeyId =
    root.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ??
    (await x509.SubjectKeyIdentifierExtension.create(root.publicKey, false, crypto)).keyId;
  return [
    new x509.BasicConstraintsExtension(true, 0, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto),
    new x509.AuthorityKeyIdentifierExtension(rootKeyId, false),
  ];
}

/** Key first (as `ca init`): a half-written directory still refuses a second delegation. */
async function writeStationCa(
  options: DelegateCaOptions,
  key: CryptoKey,
  certificatePem: string,
): Promise<void> {
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key));
  const privateKey = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  const keyPem =
    options.passphrase === null
      ? (privateKey.export({ type: "pkcs8", format: "pem" }) as string)
      : await encryptPrivateKeyPem(privateKey, options.passphrase);
  const caFile = { caFile: true };
  await writeNewFile(join(options.dir, CA_FILES.privateKey), keyPem, {
    private: true,
    caFile: true,
  });
  await writeNewFile(
    join(options.dir, CA_FILES.certificate),
    `${certificatePem.replace(/\r\n/g, "\n").trimEnd()}\n`,
    caFile,
  );
  await writeNewFile(
    join(options.dir, DELEGATED_ROOT_FILE),
    `${options.root.info.certificatePem.replace(/\r\n/g, "\n").trimEnd()}\n`,
    caFile,
  );
  await writeNewFile(join(options.dir, CA_FILES.ledger), "", caFile);
}
