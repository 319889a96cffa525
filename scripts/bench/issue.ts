// Certificate issuance rate: the full step (parse CSR, verify it, check key and CN, build,
// sign, PEM) with nrf-provision's DER-template fast path against @peculiar/x509's generator,
// on the same CA and CSRs (DER). Median of several rounds.
//   nrf-provision                 one thread, every certificate in the ledger (fsync'd group commits)
//   nrf-provision (without ledger) one thread, prepareCertificate only
//   nrf-provision (one at a time …) issueDeviceCertificate awaited per certificate: nothing to
//                                  group, so one lock + write + fsync each (the honest serial cost)
//   nrf-provision (batch …)        issueBatch: this thread plus worker threads, ledger included
//                                  (from source each worker first loads tsx, ~1 s on a busy machine)
// The "per CPU-second" lines divide by this process's CPU time instead of wall time: on a
// shared, loaded machine they estimate what one otherwise idle core does.
import { webcrypto } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BatchItem,
  initCa,
  issueBatch,
  issueDeviceCertificate,
  loadCa,
} from "../../src/ca/index.js";
import { prepareCertificate } from "../../src/ca/issue.js";
import { modemLikeCsr, randomDeviceId } from "../../test/ca/csr-factory.js";
import { issueWithX509Library, referenceCa } from "../../test/ca/reference-issuer.js";

const ROUNDS = 5;
const PER_ROUND = 3000;
const REFERENCE_PER_ROUND = 200;
const ONE_AT_A_TIME_PER_ROUND = 300;

interface Rates {
  wall: number[];
  cpu: number[];
}

const dir = await mkdtemp(join(tmpdir(), "nrf-bench-issue-"));
try {
  await initCa({ dir, passphrase: "bench passphrase" });
  const ca = await loadCa({ dir, passphrase: "bench passphrase" });
  const csrs = Array.from({ length: PER_ROUND }, () => modemLikeCsr(randomDeviceId()).der);
  const items: BatchItem[] = csrs.map((der, i) => ({
    label: String(i),
    input: { kind: "csr", der },
  }));
  const reference = await referenceCa(
    ca.info.certificatePem,
    ca.privateKey.export({ type: "pkcs8", format: "der" }),
    webcrypto as unknown as Crypto,
  );
  const tenYears = () => ({
    notBefore: new Date(),
    notAfter: new Date(Date.now() + 3650 * 86_400_000),
  });

  const fast = newRates();
  const withoutLedger = newRates();
  const batch = newRates();
  const oneAtATime = newRates();
  const library = newRates();
  for (let round = 0; round < ROUNDS; round++) {
    await measure(withoutLedger, csrs.length, async () => {
      for (const csr of csrs) await prepareCertificate(ca, csr);
    });
    await measure(fast, items.length, async () => {
      await issueBatch(ca, items, { workers: 1 });
    });
    const serialSlice = csrs.slice(0, ONE_AT_A_TIME_PER_ROUND);
    await measure(oneAtATime, serialSlice.length, async () => {
      for (const csr of serialSlice) await issueDeviceCertificate(ca, csr);
    });
    await measure(batch, items.length, async () => {
      await issueBatch(ca, items);
    });
    const slice = csrs.slice(0, REFERENCE_PER_ROUND);
    await measure(library, slice.length, async () => {
      for (const csr of slice) {
        const serial = webcrypto.getRandomValues(new Uint8Array(16));
        await issueWithX509Library(reference, csr, { serial, ...tenYears() });
      }
    });
  }
  await ca.close();

  const cores = availableParallelism();
  console.log(`nrf-provision (without ledger): ${median(withoutLedger.wall)}/s`);
  console.log(`nrf-provision (one at a time, fsync each): ${median(oneAtATime.wall)}/s`);
  console.log(`nrf-provision (batch, ${cores} threads, ledger): ${median(batch.wall)}/s`);
  console.log(`nrf-provision (per CPU-second): ${median(fast.cpu)}/s`);
  console.log(`@peculiar/x509 (per CPU-second): ${median(library.cpu)}/s`);
  console.log(`nrf-provision: ${median(fast.wall)}/s`);
  console.log(`@peculiar/x509: ${median(library.wall)}/s`);
  console.log(`ratio: ${(median(fast.wall) / median(library.wall)).toFixed(1)}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

function newRates(): Rates {
  return { wall: [], cpu: [] };
}

async function measure(rates: Rates, count: number, work: () => Promise<void>): Promise<void> {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  await work();
  const cpu = process.cpuUsage(cpuStart);
  rates.wall.push((count * 1000) / (performance.now() - start));
  rates.cpu.push((count * 1e6) / (cpu.user + cpu.system));
}

function median(values: number[]): number {
  return Math.round([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!);
}
