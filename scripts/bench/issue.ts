// Certificate issuance rate: the full step (parse CSR, verify it, check key and CN, build,
// sign, PEM) with nrf-provision's DER-template fast path against @peculiar/x509's generator,
// on the same CA and CSRs. Median of several rounds. Also: the fast path without the ledger,
// and the batch path over worker threads.
import { webcrypto } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BatchItem,
  type CertificateAuthority,
  initCa,
  issueBatch,
  issueDeviceCertificate,
  loadCa,
} from "../../src/ca/index.js";
import { prepareCertificate } from "../../src/ca/issue.js";
import { modemLikeCsr, randomDeviceId } from "../../test/ca/csr-factory.js";
import { issueWithX509Library, referenceCa } from "../../test/ca/reference-issuer.js";

const ROUNDS = 5;
const FAST_PER_ROUND = 3000;
const REFERENCE_PER_ROUND = 200;
/** Certificates in flight in one thread, so ledger appends group-commit (as the batch does). */
const IN_FLIGHT = 64;

const dir = await mkdtemp(join(tmpdir(), "nrf-bench-issue-"));
try {
  await initCa({ dir, passphrase: "bench passphrase" });
  const ca = await loadCa({ dir, passphrase: "bench passphrase" });
  const csrs = Array.from({ length: FAST_PER_ROUND }, () => modemLikeCsr(randomDeviceId()).pem);
  const reference = await referenceCa(
    ca.info.certificatePem,
    ca.privateKey.export({ type: "pkcs8", format: "der" }),
    webcrypto as unknown as Crypto,
  );

  const rates = {
    fast: [] as number[],
    noLedger: [] as number[],
    reference: [] as number[],
    batch: [] as number[],
  };
  for (let round = 0; round < ROUNDS; round++) {
    rates.noLedger.push(
      await rate(csrs.length, async () => {
        for (const csr of csrs) await prepareCertificate(ca, csr);
      }),
    );
    rates.fast.push(await rate(csrs.length, () => issueConcurrently(ca, csrs)));
    const slice = csrs.slice(0, REFERENCE_PER_ROUND);
    rates.reference.push(
      await rate(slice.length, async () => {
        for (const csr of slice) {
          const times = {
            notBefore: new Date(),
            notAfter: new Date(Date.now() + 3650 * 86_400_000),
          };
          await issueWithX509Library(reference, csr, {
            serial: crypto.getRandomValues(new Uint8Array(16)),
            ...times,
          });
        }
      }),
    );
    const items: BatchItem[] = csrs.map((pem, i) => ({
      label: String(i),
      input: { kind: "csr", der: pemToDer(pem) },
    }));
    rates.batch.push(
      await rate(items.length, async () => {
        await issueBatch(ca, items);
      }),
    );
  }
  await ca.close();

  const fast = median(rates.fast);
  const referenceRate = median(rates.reference);
  console.log(`nrf-provision (without ledger): ${Math.round(median(rates.noLedger))}/s`);
  console.log(
    `nrf-provision (batch, ${availableParallelism()} worker threads, ledger): ${Math.round(median(rates.batch))}/s`,
  );
  console.log(`nrf-provision: ${Math.round(fast)}/s`);
  console.log(`@peculiar/x509: ${Math.round(referenceRate)}/s`);
  console.log(`ratio: ${(fast / referenceRate).toFixed(1)}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

async function issueConcurrently(ca: CertificateAuthority, csrs: string[]): Promise<void> {
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < csrs.length; i = next++) await issueDeviceCertificate(ca, csrs[i]!);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
}

async function rate(count: number, work: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await work();
  return (count * 1000) / (performance.now() - start);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function pemToDer(pem: string): Uint8Array {
  return new Uint8Array(Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ""), "base64"));
}
