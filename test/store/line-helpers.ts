import { createHash, X509Certificate } from "node:crypto";
import { join } from "node:path";
import { initCa } from "../../src/ca/index.js";
import { Database } from "../../src/store/index.js";
import { passphrase } from "../pipeline/fixtures.js";
import { type CliRun, runCli } from "../pipeline/station-child.js";
import type { PgCluster } from "./pg-cluster.js";

/** A fresh, migrated database of `cluster` (through the built CLI, as a user does it). */
export async function migratedDatabase(cluster: PgCluster): Promise<string> {
  const url = cluster.url(await cluster.createDatabase());
  const run = await runCli(["line", "db", "migrate", "--store", url], {});
  if (run.exitCode !== 0) throw new Error(`line db migrate failed: ${run.stderr}`);
  return url;
}

/** A CA of its own for one station, in `dir`/<name>-ca. */
export async function stationCa(dir: string, name: string): Promise<string> {
  const caDir = join(dir, `${name}-ca`);
  await initCa({ dir: caDir, passphrase, commonName: `station ${name} CA` });
  return caDir;
}

export function fingerprintOf(pem: string): string {
  return createHash("sha256").update(new X509Certificate(pem).raw).digest("hex");
}

/** Runs SQL against the store, for what a test checks. */
export async function sql<Row extends object = Record<string, unknown>>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<Row[]> {
  const db = new Database(url, { retryForMs: 5_000 });
  try {
    return await db.query<Row>(text, values);
  } finally {
    await db.close();
  }
}

/** `line status --json` through the built CLI. */
export async function lineStatus(url: string, extra: string[] = []) {
  const run = await runCli(["line", "status", "--store", url, "--json", ...extra], {});
  if (run.exitCode !== 0) throw new Error(`line status failed (${run.exitCode}): ${run.stderr}`);
  return JSON.parse(run.stdout) as import("../../src/line/status.js").LineStatus;
}

/** Polls until `check` is true (each look is a real query; no timing is asserted). */
export async function eventually(
  check: () => Promise<boolean>,
  what: string,
  tries = 300,
): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`never happened: ${what}`);
}

export function stationArgs(options: {
  ports: string[];
  caDir: string;
  journal: string;
  url: string;
  stationId: string;
  onboard?: string;
  claimTimeoutS?: number;
}): string[] {
  return [
    "station",
    "--ports",
    options.ports.join(","),
    "--ca-dir",
    options.caDir,
    "--journal",
    options.journal,
    "--device-id",
    "imei",
    "--concurrency",
    "8",
    "--onboard",
    options.onboard ?? "batch",
    "--store",
    options.url,
    "--station-id",
    options.stationId,
    "--claim-timeout",
    String(options.claimTimeoutS ?? 2),
    "--jsonl",
  ];
}

export type { CliRun };

/** The line's root passphrase (the station CAs get the bench's own, NRF_PROVISION_CA_PASSPHRASE). */
const ROOT_PASSPHRASE = "line-root-test-passphrase";

/**
 * One root for the line (`ca init`) and an intermediate per station (`ca delegate`), through the
 * built CLI as a user makes them: `dir`/root and `dir`/<station>-ca.
 */
export async function delegatedLineCas(
  dir: string,
  stations: string[],
  stationPassphrase: string,
): Promise<{ rootDir: string; stationDirs: Map<string, string> }> {
  const rootDir = join(dir, "root");
  const init = await runCli(["ca", "init", "--dir", rootDir, "--cn", "Line root"], {
    NRF_PROVISION_CA_PASSPHRASE: ROOT_PASSPHRASE,
  });
  if (init.exitCode !== 0) throw new Error(`ca init failed: ${init.stderr}`);
  const stationDirs = new Map<string, string>();
  for (const station of stations) {
    const outDir = join(dir, `${station.toLowerCase()}-ca`);
    const delegated = await runCli(
      ["ca", "delegate", "--root-dir", rootDir, "--station", station, "--out-dir", outDir],
      {
        NRF_PROVISION_ROOT_CA_PASSPHRASE: ROOT_PASSPHRASE,
        NRF_PROVISION_CA_PASSPHRASE: stationPassphrase,
      },
    );
    if (delegated.exitCode !== 0)
      throw new Error(`ca delegate ${station} failed: ${delegated.stderr}`);
    stationDirs.set(station, outDir);
  }
  return { rootDir, stationDirs };
}

/** `openssl verify -CAfile <root> -untrusted <intermediate> <cert>`: its exit code and output. */
export async function opensslVerify(
  rootPem: string,
  intermediatePem: string,
  certificatePem: string,
): Promise<{ ok: boolean; output: string }> {
  const { execFile } = await import("node:child_process");
  return new Promise((resolve, reject) => {
    execFile(
      "openssl",
      ["verify", "-CAfile", rootPem, "-untrusted", intermediatePem, certificatePem],
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") return reject(error);
        resolve({ ok: error === null, output: `${stdout}${stderr}` });
      },
    );
  });
}
