// The reference generator: the same full step (parse CSR, verify it, check key and CN, build,
// sign, PEM) done with @peculiar/x509. The issue benchmark measures against it, and the
// differential test (through test/ca/reference-issuer.ts) holds the fast path to it.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

export interface ReferenceCa {
  certificate: x509.X509Certificate;
  privateKey: CryptoKey;
  crypto: Crypto;
  /** Hex subject key identifier of the CA (the device certificates' AKI). */
  keyId: string;
}

export async function referenceCa(
  certificatePem: string,
  pkcs8Der: Uint8Array,
  crypto: Crypto,
): Promise<ReferenceCa> {
  const certificate = new x509.X509Certificate(certificatePem);
  const privateKey = await crypto.subtle.importKey(
    "pkcs8",
    pkcs8Der as BufferSource,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  const ski = certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  return { certificate, privateKey, crypto, keyId: ski!.keyId };
}

export async function issueWithX509Library(
  ca: ReferenceCa,
  csrInput: string | Uint8Array,
  fields: { serial: Uint8Array; notBefore: Date; notAfter: Date },
): Promise<{ pem: string; der: Uint8Array }> {
  const csr = new x509.Pkcs10CertificateRequest(csrInput as string | BufferSource);
  if (!(await csr.verify(ca.crypto))) throw new Error("CSR signature invalid");
  const algorithm = csr.publicKey.algorithm as EcKeyAlgorithm;
  if (algorithm.name !== "ECDSA" || algorithm.namedCurve !== "P-256") throw new Error("not P-256");
  const cn = csr.subjectName.getField("CN");
  if (cn.length !== 1 || !/^[a-z0-9:_-]{1,64}$/i.test(cn[0]!)) throw new Error("bad CN");
  return buildWithX509Library(ca, csr, fields);
}

/** Only the build-and-sign part, for the differential test (the CSR is known good). */
export async function buildWithX509Library(
  ca: ReferenceCa,
  csr: x509.Pkcs10CertificateRequest,
  fields: { serial: Uint8Array; notBefore: Date; notAfter: Date },
): Promise<{ pem: string; der: Uint8Array }> {
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: Buffer.from(fields.serial).toString("hex"),
      subject: csr.subjectName,
      issuer: ca.certificate.subjectName,
      notBefore: fields.notBefore,
      notAfter: fields.notAfter,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
      publicKey: csr.publicKey,
      signingKey: ca.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
        await x509.SubjectKeyIdentifierExtension.create(csr.publicKey, false, ca.crypto),
        new x509.AuthorityKeyIdentifierExtension(ca.keyId, false),
      ],
    },
    ca.crypto,
  );
  return { pem: certificate.toString("pem"), der: new Uint8Array(certificate.rawData) };
}
