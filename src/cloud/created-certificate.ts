import { join } from "node:path";
import { ensureDirectory, refuseExisting, writeNewFile } from "../files/index.js";
import type { DeviceCertificate } from "./schemas.js";

/** Where `cloud create-cert --out-dir` keeps a created key and certificate. */
export interface CreatedCertificateFiles {
  certificate: string;
  privateKey: string;
  caCertificate: string;
}

/** `<id>.crt.pem`, `<id>.key.pem`, `<id>.ca.pem` in `dir`, named after the requested device. */
export function createdCertificateFiles(dir: string, deviceId: string): CreatedCertificateFiles {
  return {
    certificate: join(dir, `${deviceId}.crt.pem`),
    privateKey: join(dir, `${deviceId}.key.pem`),
    caCertificate: join(dir, `${deviceId}.ca.pem`),
  };
}

/** Refuses (ERR_IO_EXISTS) before the request: the key exists only in nRF Cloud's reply. */
export function refuseExistingCertificateFiles(
  files: CreatedCertificateFiles,
  force: boolean,
): Promise<void> {
  return refuseExisting(Object.values(files), { force });
}

/** Writes the reply: the private key with mode 0600, then the certificate and its CA. */
export async function writeCreatedCertificate(
  dir: string,
  files: CreatedCertificateFiles,
  created: DeviceCertificate,
  force: boolean,
): Promise<void> {
  await ensureDirectory(dir);
  if (created.privateKey) {
    await writeNewFile(files.privateKey, created.privateKey, { private: true, force });
  }
  await writeNewFile(files.certificate, created.clientCert, { force });
  await writeNewFile(files.caCertificate, created.caCert, { force });
}
