/**
 * A factory CA's ledger grows with every certificate. This times what reads it, on a CA with
 * many entries (default 100,000, about 108 MB): opening the CA (every `ca issue`, `provision`
 * and station start), finding one device's certificates (a board that already holds one), and
 * finding a station's journal certificates by fingerprint (its end-of-run summary). The
 * baseline, measured in the same run, is the plain way to read the file: all of it at once,
 * every line checked and JSON-parsed (`readLedger`, what `ca list` does and what lookups did
 * before). Medians of several rounds.
 *
 *   npm run bench:ledger   [-- --entries 100000 --rounds 5]
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { initCa, Ledger, type LedgerEntry, loadCa, readLedger } from "../../src/ca/index.js";

const { values } = parseArgs({
  options: {
    entries: { type: "string", default: "100000" },
    rounds: { type: "string", default: "5" },
  },
});
const entries = Number(values.entries);
const rounds = Number(values.rounds);
const passphrase = "bench ledger";

/** An entry shaped like a real one: 32-hex serial, 64-hex fingerprint, a ~700-byte PEM. */
function entryFor(i: number): LedgerEntry {
  const body = randomBytes(480).toString("base64").replace(/.{64}/g, "$&\n");
  return {
    serialNumber: randomBytes(16).toString("hex"),
    deviceId: `nrf-${String(352656100000000 + i)}`,
    sha256Fingerprint: randomBytes(32).toString("hex"),
    notBefore: "2026-01-01T00:00:00.000Z",
    notAfter: "2036-01-01T00:00:00.000Z",
    issuedAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    source: `csr-sha256:${randomBytes(32).toString("hex")}`,
    pem: `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`,
  };
}

async function median(run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

const dir = await mkdtemp(join(tmpdir(), "nrf-bench-ledger-"));
try {
  const info = await initCa({ dir, passphrase });
  const writer = await Ledger.open(info.files.ledger, { durability: "none" });
  const written: LedgerEntry[] = [];
  for (let start = 0; start < entries; start += 1000) {
    const batch = Array.from({ length: Math.min(1000, entries - start) }, (_, i) =>
      entryFor(start + i),
    );
    await Promise.all(batch.map((entry) => writer.append(entry)));
    written.push(...batch);
  }
  await writer.close();
  const device = written[Math.floor(entries / 2)]!.deviceId;
  // A 16-board station's journal: 15 of its certificates in the ledger, one not.
  const fingerprints = [
    ...written.slice(-15).map((entry) => entry.sha256Fingerprint),
    randomBytes(32).toString("hex"),
  ];

  const ledger = await Ledger.open(info.files.ledger);
  const results = {
    loadCa: await median(async () => (await loadCa({ dir, passphrase })).close()),
    open: await median(async () => (await Ledger.open(info.files.ledger)).close()),
    byDevice: await median(() => ledger.find({ deviceId: device })),
    byFingerprints: await median(() => ledger.find({ sha256Fingerprints: fingerprints })),
    baseline: await median(() => readLedger(info.files.ledger)),
  };
  await ledger.close();
  const ms = (value: number) => `${value.toFixed(0)} ms`;
  const ratio = (value: number) => (results.baseline / value).toFixed(1);
  console.log(`ledger bench: ${entries} entries, medians of ${rounds} rounds`);
  console.log(`loadCa (passphrase, ledger opened): ${ms(results.loadCa)}`);
  console.log(`Ledger.open (serials only): ${ms(results.open)}`);
  console.log(
    `find one device's certificates: ${ms(results.byDevice)} (${ratio(results.byDevice)} × faster than the baseline)`,
  );
  console.log(
    `find 16 certificates by fingerprint: ${ms(results.byFingerprints)} (${ratio(results.byFingerprints)} ×)`,
  );
  console.log(`baseline (whole file read and parsed, readLedger): ${ms(results.baseline)}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
