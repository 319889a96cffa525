import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  webcrypto,
} from "node:crypto";
import { DeviceCertificateTemplate } from "../../ca/certificate-template.js";
import { encodeSequence, encodeTlv, spkiPublicKeyBits, Tag, toPem } from "../../der/index.js";

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const OID_COMMON_NAME = Buffer.from("0603550403", "hex");
const SERIAL_PREFIX = Uint8Array.of(0x01);

/** A P-256 CA of the simulator: signs device certificates quickly from a DER template. */
export interface SimCertificateAuthority {
  certificatePem: string;
  /** Issues an X.509 v1 certificate, CN = device ID, for `publicKey` (fresh serial each call). */
  issue(request: { deviceId: string; publicKey: KeyObject; days?: number }): string;
}

export interface SimIssuedKeyPair {
  certificatePem: string;
  privateKeyPem: string;
}

/**
 * Creates a CA for simulated devices. The CA certificate itself is a proper v3 CA made with
 * @peculiar/x509; device certificates come from the project CA's DeviceCertificateTemplate
 * (the "minimal" v1 profile) signed with node:crypto, which is fast enough to make tens of
 * thousands (bench, tests, rehearsal).
 */
export async function createSimCertificateAuthority(
  options: { commonName?: string; now?: () => number } = {},
): Promise<SimCertificateAuthority> {
  const now = options.now ?? Date.now;
  const crypto = webcrypto as unknown as Crypto;
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  // Loaded here, not at import: @peculiar/x509 and its reflect-metadata polyfill are heavy.
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  const caCert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: `01${randomBytes(8).toString("hex")}`,
      name: `CN=${options.commonName ?? "nrf-provision simulated CA"}`,
      notBefore: new Date(now() - 3_600_000),
      notAfter: new Date(now() + 10 * 365 * 86_400_000),
      signingAlgorithm: ALGORITHM,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
      ],
    },
    crypto,
  );
  const signingKey = await keyObjectFrom(keys.privateKey);
  const template = new DeviceCertificateTemplate({
    subjectDer: new Uint8Array(caCert.subjectName.toArrayBuffer()),
    subjectKeyIdentifier: createHash("sha1")
      .update(spkiPublicKeyBits(new Uint8Array(caCert.publicKey.rawData)))
      .digest(),
  });
  // Many certificates share one device key in benches: export its SPKI once.
  const spkiCache = new WeakMap<KeyObject, Buffer>();
  const spkiOf = (key: KeyObject) => {
    let spki = spkiCache.get(key);
    if (!spki) {
      spki = key.export({ type: "spki", format: "der" });
      spkiCache.set(key, spki);
    }
    return spki;
  };
  return {
    certificatePem: toPem("CERTIFICATE", new Uint8Array(caCert.rawData)),
    issue({ deviceId, publicKey, days = 365 }) {
      const spkiDer = spkiOf(publicKey);
      const tbs = template.buildTbs({
        serial: Buffer.concat([SERIAL_PREFIX, randomBytes(15)]),
        notBefore: new Date(now() - 3_600_000),
        notAfter: new Date(now() + days * 86_400_000),
        subjectDer: commonNameSubject(deviceId),
        spkiDer,
        publicKeyBits: spkiPublicKeyBits(spkiDer),
        profile: "minimal",
      });
      return toPem("CERTIFICATE", template.assemble(tbs, sign("sha256", tbs, signingKey)));
    },
  };
}

/** Subject Name with one CN (UTF8String) = the device ID. */
function commonNameSubject(deviceId: string): Uint8Array {
  const commonName = encodeSequence(
    OID_COMMON_NAME,
    encodeTlv(Tag.UTF8_STRING, Buffer.from(deviceId, "utf8")),
  );
  return encodeSequence(encodeTlv(Tag.SET, commonName));
}

/** A fresh P-256 device key pair with a certificate from `ca` (CreateDeviceCertificate). */
export function issueKeyPair(ca: SimCertificateAuthority, deviceId: string): SimIssuedKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return {
    certificatePem: ca.issue({ deviceId, publicKey }),
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

async function keyObjectFrom(key: CryptoKey): Promise<KeyObject> {
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", key as webcrypto.CryptoKey);
  return createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" });
}
