import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll } from "vitest";
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

/**
 * A CA in a temporary directory shared by a file's tests: created and loaded in `beforeAll`,
 * closed and removed in `afterAll`. Read `dir` and `ca` inside tests (or later hooks).
 */
export function useTestCa(options: Partial<LoadCaOptions> = {}): {
  readonly dir: string;
  readonly ca: CertificateAuthority;
} {
  let started: { dir: string; cleanup: () => Promise<void>; ca: CertificateAuthority } | undefined;
  const setUp = () => {
    if (!started) throw new Error("the test CA is used before beforeAll ran");
    return started;
  };
  beforeAll(async () => {
    const { dir, cleanup } = await tempDir();
    started = { dir, cleanup, ca: await createTestCa(dir, options) };
  });
  afterAll(async () => {
    await started?.ca.close();
    await started?.cleanup();
  });
  return {
    get dir() {
      return setUp().dir;
    },
    get ca() {
      return setUp().ca;
    },
  };
}

/** `openssl verify -x509_strict -purpose sslclient` of a PEM; openssl's output, or throws. */
export async function opensslVerify(
  caPemPath: string,
  certificatePem: string,
  dir: string,
): Promise<string> {
  const file = join(dir, `cert-${Math.random().toString(36).slice(2)}.pem`);
  await writeFile(file, certificatePem);
  return opensslVerifyFile(caPemPath, file);
}

/** `openssl verify -x509_strict -purpose sslclient` of a certificate file. */
export async function opensslVerifyFile(caPemPath: string, file: string): Promise<string> {
  return openssl(["verify", "-x509_strict", "-purpose", "sslclient", "-CAfile", caPemPath, file]);
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
