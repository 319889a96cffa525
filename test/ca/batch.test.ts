import { X509Certificate } from "node:crypto";
import { Crypto as PeculiarCrypto } from "@peculiar/webcrypto";
import { describe, expect, it } from "vitest";
import { type BatchItem, issueBatch, loadCa, readLedger } from "../../src/ca/index.js";
import { readVector } from "../vectors.js";
import { startBatchWorkerFromSource as startWorker } from "./batch-worker-from-source.js";
import { modemLikeCsr } from "./csr-factory.js";
import { opensslVerify, PASSPHRASE, useTestCa } from "./helpers.js";

describe("issueBatch", () => {
  const fixture = useTestCa();

  function items(prefix: string, count: number): BatchItem[] {
    return Array.from({ length: count }, (_, i) => ({
      label: `${prefix}-${i}`,
      input: { kind: "csr", der: modemLikeCsr(`${prefix}-${i}`).der },
    }));
  }

  it("returns one result per input, in input order, failures included, all in the ledger", async () => {
    const batch: BatchItem[] = [
      ...items("inproc", 20),
      {
        label: "broken",
        input: { kind: "csr", der: modemLikeCsr("x", { breakSignature: true }).der },
      },
      {
        label: "keygen",
        input: { kind: "keygen", text: readVector("keygen_csr_sectag17_uuid50363154.txt") },
      },
      { label: "garbage", input: { kind: "keygen", text: "not.keygen" } },
    ];
    const { ca } = fixture;
    const seen: number[] = [];
    const results = await issueBatch(ca, batch, { workers: 1, onResult: (_, i) => seen.push(i) });
    expect(results.map((r) => r.label)).toEqual(batch.map((b) => b.label));
    expect(seen.sort((a, b) => a - b)).toEqual(batch.map((_, i) => i));
    expect(results.filter((r) => r.ok)).toHaveLength(21);
    expect(results.find((r) => r.label === "broken")).toMatchObject({
      ok: false,
      error: { code: "ERR_CSR_SIGNATURE" },
    });
    expect(results.find((r) => r.label === "garbage")).toMatchObject({
      ok: false,
      error: { code: "ERR_KEYGEN_MALFORMED" },
    });
    const serials = new Set(
      (await readLedger(ca.info.files.ledger)).entries.map((e) => e.serialNumber),
    );
    for (const r of results) if (r.ok) expect(serials.has(r.certificate.serialNumber)).toBe(true);
  });

  it("shares the work between this thread and a worker: every input once, all in the ledger", async () => {
    const batch = [
      ...items("shared", 300),
      {
        label: "broken",
        input: { kind: "csr" as const, der: modemLikeCsr("y", { breakSignature: true }).der },
      },
    ];
    const { ca } = fixture;
    const seen: number[] = [];
    const results = await issueBatch(ca, batch, {
      workers: 2,
      startWorker,
      onResult: (_, i) => seen.push(i),
    });
    expect(results.map((r) => r.label)).toEqual(batch.map((b) => b.label));
    expect(seen.sort((a, b) => a - b)).toEqual(batch.map((_, i) => i));
    expect(results.at(-1)).toMatchObject({ ok: false, error: { code: "ERR_CSR_SIGNATURE" } });
    const issued = results.flatMap((r) => (r.ok ? [r.certificate] : []));
    expect(issued).toHaveLength(300);
    expect(issued.map((c) => c.deviceId)).toEqual(batch.slice(0, 300).map((b) => b.label));
    const ledger = new Map(
      (await readLedger(ca.info.files.ledger)).entries.map((e) => [e.serialNumber, e]),
    );
    for (const certificate of issued) {
      expect(ledger.get(certificate.serialNumber)?.pem).toBe(certificate.pem);
    }
  });

  it("signs with the injected clock in worker threads too (every certificate's notBefore)", async () => {
    const { ca } = fixture;
    // A day after the CA was made: well inside its validity, and far from the real time.
    const fixed = new Date(ca.info.notBefore.getTime() + 86_400_000 + 123_000);
    const clocked = await loadCa({ dir: ca.info.dir, passphrase: PASSPHRASE, clock: () => fixed });
    try {
      // Enough items that the workers (slow to boot from source) sign some of them.
      const results = await issueBatch(clocked, items("clocked", 1500), {
        workers: 3,
        startWorker,
      });
      const notBefores = new Set(
        results.flatMap((r) =>
          r.ok ? [new Date(new X509Certificate(r.certificate.pem).validFrom).toISOString()] : [],
        ),
      );
      expect(results.every((r) => r.ok)).toBe(true);
      // Backdated five minutes, whole seconds: one value for all 200, from the fixed clock.
      const expected = new Date(Math.floor((fixed.getTime() - 5 * 60_000) / 1000) * 1000);
      expect([...notBefores]).toEqual([expected.toISOString()]);
    } finally {
      await clocked.close();
    }
  });

  it("runs in-process through a non-Node WebCrypto provider and still issues valid certificates", async () => {
    const { ca, dir } = fixture;
    const viaProvider = await loadCa({
      dir: ca.info.dir,
      passphrase: PASSPHRASE,
      crypto: new PeculiarCrypto() as unknown as Crypto,
    });
    try {
      const results = await issueBatch(viaProvider, items("peculiar", 10), {
        workers: 4,
        startWorker,
      });
      expect(results.every((r) => r.ok)).toBe(true);
      const first = results[0]!;
      if (first.ok)
        expect(
          await opensslVerify(ca.info.files.certificate, first.certificate.pem, dir),
        ).toContain(": OK");
    } finally {
      await viaProvider.close();
    }
  });
});
