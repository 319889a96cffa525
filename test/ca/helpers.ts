import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  type CertificateAuthority,
  initCa,
  type LoadCaOptions,
  loadCa,
} from "../../src/ca/index.js";

const run = promisify(execFile);

export const PASSPHRASE = "correct horse battery staple";

/** A fresh temporary directory, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "nrf-ca-test-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Creates a CA in `<dir>/ca` and loads it. */
export async function createTestCa(
  dir: string,
  options: Partial<LoadCaOptions> = {},
): Promise<CertificateAuthority> {
  const caDir = join(dir, "ca");
  await initCa({ dir: caDir, passphrase: PASSPHRASE, organization: "Test Org", country: "NO" });
  return loadCa({ dir: caDir, passphrase: PASSPHRASE, ...options });
}

/** `openssl verify -x509_strict -purpose sslclient`; resolves with openssl's output or throws. */
export async function opensslVerify(
  caPemPath: string,
  certificatePem: string,
  dir: string,
): Promise<string> {
  const file = join(dir, `cert-${Math.random().toString(36).slice(2)}.pem`);
  await writeFile(file, certificatePem);
  const { stdout } = await run("openssl", [
    "verify",
    "-x509_strict",
    "-purpose",
    "sslclient",
    "-CAfile",
    caPemPath,
    file,
  ]);
  return stdout;
}

/** `openssl x509 -text -noout` of a PEM. */
export async function opensslText(pem: string, dir: string): Promise<string> {
  const file = join(dir, `text-${Math.random().toString(36).slice(2)}.pem`);
  await writeFile(file, pem);
  const { stdout } = await run("openssl", ["x509", "-in", file, "-noout", "-text"]);
  return stdout;
}

export async function openssl(args: string[]): Promise<string> {
  return (await run("openssl", args)).stdout;
}
