// Certificate issuance rate: the full step (parse CSR, verify it, check key and CN, build,
// sign, PEM) with nrf-provision's DER-template fast path against @peculiar/x509's generator,
// on the same CA and CSRs (DER). Median of several rounds.
//   nrf-provision                 one thread, every certificate in the ledger (fsync'd group commits)
//   nrf-provision (without ledger) one thread, prepareCertificate only
//   nrf-provision (one at a time …) issueDeviceCertificate awaited per certificate: nothing to
//                                  group, so one lock + write + fsync each (the honest serial cost)
//   nrf-provision (batch …)        issueBatch: this thread plus worker threads, ledger included,
//                                  on a fleet-sized batch
//   node:crypto alone              only the three OpenSSL calls every certificate needs (the CSR's
//                                  key imported as a JWK, its self-signature verified, a TBS-sized
//                                  buffer signed with the CA key), on CSRs parsed beforehand: the
//                                  ceiling of any issuing code on this Node's OpenSSL
//   python cryptography            the same full step with the package Nordic's Python tools use,
//                                  on the same CSRs (scripts/bench/issue_python.py; skipped with
//                                  a note when python3 or its cryptography package is missing),
//                                  one of its rounds after each of ours, so on a shared machine
//                                  both see the same load
// The "per CPU-second" lines divide by this process's CPU time (all its threads) instead of
// wall time: on a shared, loaded machine they estimate what one otherwise idle core does. The
// batch's wall rate is what the machine gives it: it means something only on an idle machine,
// so the load average is printed beside it.
// The CA code is the built one (dist/, what `nrf-provision ca issue` runs; `npm run bench:issue`
// builds first): from source every batch worker would first boot tsx (0.3–1 s each), which
// is the bench's cost, not the product's.
import { spawn } from "node:child_process";
import { sign, verify, webcrypto } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { BatchItem } from "../../src/ca/index.js";
import { modemCsr, randomImeiDeviceId } from "./modem-csr.js";
import { issueWithX509Library, referenceCa } from "./x509-reference.js";

// Typed from src, loaded from dist (a path in a variable, so typechecking needs no build).
const built = "../../dist/ca";
const { initCa, issueBatch, issueDeviceCertificate, loadCa } = (await import(
  `${built}/index.js`
)) as typeof import("../../src/ca/index.js");
const { prepareCertificate } = (await import(
  `${built}/issue.js`
)) as typeof import("../../src/ca/issue.js");
const builtAttest = "../../dist/attest";
const { readCertificationRequest } = (await import(
  `${builtAttest}/index.js`
)) as typeof import("../../src/attest/index.js");

const ROUNDS = 5;
const TARGET_PER_SECOND = 5000;
const PER_ROUND = 3000;
const REFERENCE_PER_ROUND = 200;
const ONE_AT_A_TIME_PER_ROUND = 300;
/** The batch path re-issues the round's CSRs this many times over, like a fleet re-issue. */
const BATCH_REPEATS = 5;

interface Rates {
  wall: number[];
  cpu: number[];
}

const dir = await mkdtemp(join(tmpdir(), "nrf-bench-issue-"));
try {
  await initCa({ dir, passphrase: "bench passphrase" });
  const ca = await loadCa({ dir, passphrase: "bench passphrase" });
  const csrs = Array.from({ length: PER_ROUND }, () => modemCsr(randomImeiDeviceId()).der);
  const items: BatchItem[] = csrs.map((der, i) => ({
    label: String(i),
    input: { kind: "csr", der },
  }));
  const fleet = Array.from({ length: BATCH_REPEATS }, () => items).flat();
  const reference = await referenceCa(
    ca.info.certificatePem,
    ca.privateKey.export({ type: "pkcs8", format: "der" }),
    webcrypto as unknown as Crypto,
  );
  const tenYears = () => ({
    notBefore: new Date(),
    notAfter: new Date(Date.now() + 3650 * 86_400_000),
  });

  const parsed = csrs.map((der) => readCertificationRequest(der));
  const tbsSized = webcrypto.getRandomValues(new Uint8Array(330));
  const cryptoOnly = newRates();
  const fast = newRates();
  const withoutLedger = newRates();
  const batch = newRates();
  const oneAtATime = newRates();
  const library = newRates();
  const python = await startPython(dir, csrs);
  const loadBefore = loadavg()[0]!;
  for (let round = 0; round < ROUNDS; round++) {
    await measure(withoutLedger, csrs.length, async () => {
      for (const csr of csrs) await prepareCertificate(ca, csr);
    });
    await measure(cryptoOnly, parsed.length, async () => {
      for (const csr of parsed) {
        const point = Buffer.from(csr.publicKeyBits);
        const key = {
          kty: "EC",
          crv: "P-256",
          x: point.toString("base64url", 1, 33),
          y: point.toString("base64url", 33, 65),
        };
        if (!verify("sha256", csr.infoDer, { key, format: "jwk" }, csr.signature)) {
          throw new Error("a bench CSR did not verify");
        }
        sign("sha256", tbsSized, ca.privateKey);
      }
    });
    await measure(fast, items.length, async () => {
      await issueBatch(ca, items, { workers: 1 });
    });
    const serialSlice = csrs.slice(0, ONE_AT_A_TIME_PER_ROUND);
    await measure(oneAtATime, serialSlice.length, async () => {
      for (const csr of serialSlice) await issueDeviceCertificate(ca, csr);
    });
    await measure(batch, fleet.length, async () => {
      await issueBatch(ca, fleet);
    });
    const slice = csrs.slice(0, REFERENCE_PER_ROUND);
    await measure(library, slice.length, async () => {
      for (const csr of slice) {
        const serial = webcrypto.getRandomValues(new Uint8Array(16));
        await issueWithX509Library(reference, csr, { serial, ...tenYears() });
      }
    });
    if (python.rates) {
      const { wall, cpu } = await python.round();
      python.rates.wall.push(wall);
      python.rates.cpu.push(cpu);
    }
  }
  const loadAfter = loadavg()[0]!;
  python.stop();
  await ca.close();

  const cores = availableParallelism();
  console.log(`nrf-provision (without ledger): ${median(withoutLedger.wall)}/s`);
  console.log(`nrf-provision (one at a time, fsync each): ${median(oneAtATime.wall)}/s`);
  console.log(
    `nrf-provision (batch of ${fleet.length}, ${cores} threads, ledger): ${median(batch.wall)}/s (load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after, on ${cores} cores)`,
  );
  console.log(
    `nrf-provision (batch of ${fleet.length}, ${cores} threads, ledger, per CPU-second of all threads): ${median(batch.cpu)}/s`,
  );
  console.log(`nrf-provision (per CPU-second): ${median(fast.cpu)}/s`);
  console.log(`nrf-provision (without ledger, per CPU-second): ${median(withoutLedger.cpu)}/s`);
  console.log(
    `node:crypto alone (JWK import + verify + CA sign, per CPU-second): ${median(cryptoOnly.cpu)}/s`,
  );
  console.log(`@peculiar/x509 (per CPU-second): ${median(library.cpu)}/s`);
  console.log(`nrf-provision: ${median(fast.wall)}/s`);
  console.log(`@peculiar/x509: ${median(library.wall)}/s`);
  const pythonRate = python.rates && {
    wall: median(python.rates.wall),
    cpu: median(python.rates.cpu),
  };
  if (!pythonRate) console.log(`python cryptography: not measured (${python.problem})`);
  else {
    console.log(`python cryptography: ${pythonRate.wall}/s`);
    console.log(`python cryptography (per CPU-second): ${pythonRate.cpu}/s`);
  }
  console.log(`ratio: ${(median(fast.wall) / median(library.wall)).toFixed(1)}`);
  // Issue 3's target is the full step (parse, verify, build, sign, PEM); the ledger has its own
  // (it may cost at most half of that rate).
  const step = median(withoutLedger.wall);
  const ledgerShare = 1 - median(fast.wall) / step;
  if (pythonRate) {
    // Issue 12: node:crypto alone, per CPU-second on one core, at least Python's rate; the
    // batch on all cores at least 1.6 × Python's single-core rate (both per CPU-second of one
    // core where the machine is shared: the batch's wall rate is what it is given).
    const single = median(withoutLedger.cpu);
    const all = median(batch.wall);
    console.log(
      `ratio to python, one core per CPU-second: ${(single / pythonRate.cpu).toFixed(2)} (target ≥ 1.0: ${single >= pythonRate.cpu ? "met" : "NOT met"})`,
    );
    console.log(
      `ceiling: node:crypto alone to python, one core per CPU-second: ${(median(cryptoOnly.cpu) / pythonRate.cpu).toFixed(2)} (what the one-core ratio would be if parsing, encoding and everything but OpenSSL cost nothing)`,
    );
    console.log(
      `ratio to python, batch on ${cores} threads (wall) to python per CPU-second: ${(all / pythonRate.cpu).toFixed(2)} (target ≥ 1.6: ${all >= 1.6 * pythonRate.cpu ? "met" : "NOT met"})`,
    );
  }
  console.log(
    `target ${TARGET_PER_SECOND}/s full steps on one core: ${step >= TARGET_PER_SECOND ? "met" : "NOT met"} (${step}/s); the ledger costs ${Math.round(ledgerShare * 100)}% of it (at most 50%: ${ledgerShare <= 0.5 ? "met" : "NOT met"})`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}

interface PythonBaseline {
  /** Its rounds so far; undefined when it could not run (then `problem` says why). */
  rates?: Rates;
  problem?: string;
  /** Runs one round over all the CSRs: its rates per wall- and per CPU-second. */
  round(): Promise<{ wall: number; cpu: number }>;
  stop(): void;
}

/**
 * Python `cryptography` on the same CSRs (scripts/bench/issue_python.py), kept running and
 * asked for one round at a time, or why it could not start.
 */
async function startPython(dir: string, csrs: Uint8Array[]): Promise<PythonBaseline> {
  const file = join(dir, "csrs.b64");
  await writeFile(file, csrs.map((der) => Buffer.from(der).toString("base64")).join("\n"));
  const script = join(import.meta.dirname, "issue_python.py");
  const child = spawn("python3", [script, file], { stdio: ["pipe", "pipe", "pipe"] });
  child.stdin.on("error", () => {}); // a python3 that ended says why on stderr
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const lines: string[] = [];
  let waiting: ((line: string | null) => void) | undefined;
  let buffered = "";
  const deliver = (line: string | null) => {
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve(line);
    } else if (line !== null) lines.push(line);
  };
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    buffered += text;
    for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
      deliver(buffered.slice(0, end).trim());
      buffered = buffered.slice(end + 1);
    }
  });
  const ended = new Promise<void>((resolve) => {
    child.once("error", (error) => {
      stderr ||= error.message;
      resolve();
    });
    child.once("close", () => resolve());
  });
  void ended.then(() => deliver(null));
  const nextLine = () =>
    lines.length > 0
      ? Promise.resolve(lines.shift() ?? null)
      : new Promise<string | null>((resolve) => {
          waiting = resolve;
        });
  const stop = () => {
    child.stdin.end();
  };
  const problem = () => stderr.trim().split("\n").at(-1) || "python3 ended";
  if ((await nextLine()) !== "ready") {
    stop();
    return { problem: problem(), round: () => Promise.reject(new Error(problem())), stop };
  }
  return {
    rates: newRates(),
    async round() {
      child.stdin.write("round\n");
      const rates = /^(\d+) (\d+)$/.exec((await nextLine()) ?? "");
      if (!rates) throw new Error(`python cryptography stopped: ${problem()}`);
      return { wall: Number(rates[1]), cpu: Number(rates[2]) };
    },
    stop,
  };
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
