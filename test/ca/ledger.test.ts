import { type ChildProcess, spawn } from "node:child_process";
import { appendFile, readFile, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Ledger, type LedgerEntry, type LedgerQuery, readLedger } from "../../src/ca/index.js";
import { createTestCa, PASSPHRASE, tempDir } from "./helpers.js";

function entry(serialNumber: string, deviceId = `dev-${serialNumber}`): LedgerEntry {
  return {
    serialNumber,
    deviceId,
    sha256Fingerprint: "00".repeat(32),
    notBefore: "2026-01-01T00:00:00.000Z",
    notAfter: "2036-01-01T00:00:00.000Z",
    issuedAt: "2026-01-01T00:05:00.000Z",
    source: "test",
    pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
  };
}

const childScript = new URL("./fixtures/issuer-child.ts", import.meta.url).pathname;

function spawnIssuer(caDir: string, count: string, label: string): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", childScript, caDir, count, label], {
    env: { ...process.env, NRF_PROVISION_CA_PASSPHRASE: PASSPHRASE },
    stdio: ["ignore", "ignore", "pipe"],
  });
}

function exitOf(
  child: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += String(chunk);
  });
  return new Promise((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, stderr })),
  );
}

describe("ledger", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("skips a torn last line, never counts it, and keeps it isolated from the next append", async () => {
    const path = join(dir, "ledger.jsonl");
    const ledger = await Ledger.open(path, { create: true });
    await ledger.append(entry("01"));
    await ledger.append(entry("02"));
    const whole = await readFile(path, "utf8");
    await appendFile(path, whole.slice(0, whole.indexOf("\n") - 7)); // a record cut mid-way
    expect(await readLedger(path)).toMatchObject({ damagedLines: 1 });
    expect((await readLedger(path)).entries.map((e) => e.serialNumber)).toEqual(["01", "02"]);
    await ledger.append(entry("03"));
    await ledger.close();
    const after = await readLedger(path);
    expect(after.entries.map((e) => e.serialNumber)).toEqual(["01", "02", "03"]);
    expect(after.damagedLines).toBe(1);
  });

  it("rejects a reused serial, also one another process appended after this one opened", async () => {
    const path = join(dir, "ledger.jsonl");
    const first = await Ledger.open(path, { create: true });
    const second = await Ledger.open(path, { create: true });
    await first.append(entry("aa"));
    await expect(second.append(entry("aa", "other"))).rejects.toMatchObject({
      code: "ERR_LEDGER_DUPLICATE_SERIAL",
    });
    await second.append(entry("bb"));
    await Promise.all([first.close(), second.close()]);
    expect((await readLedger(path)).entries.map((e) => e.serialNumber)).toEqual(["aa", "bb"]);
  });

  it("knows at open exactly the serials of the intact records, whatever their layout", async () => {
    const path = join(dir, "ledger.jsonl");
    const writer = await Ledger.open(path, { create: true });
    for (const serial of ["a1", "a2", "a3"]) await writer.append(entry(serial));
    await writer.close();
    const [first, second, third] = (await readFile(path, "utf8")).split("\n");
    // A valid record written by another tool with serialNumber last, a record whose checksum
    // fails, one cut mid-way, and one with a multi-byte character (checksummed as UTF-8).
    const { serialNumber, ...rest } = entry("b1", "gerät-ü");
    const reordered = JSON.stringify({ ...rest, serialNumber });
    const checksum = crc32(reordered).toString(16).padStart(8, "0");
    const corrupted = second!.replace('"dev-a2"', '"dev-a9"');
    const lines = [first, `${reordered}\t${checksum}`, corrupted, third!.slice(0, 40), ""];
    await writeFile(path, lines.join("\n"));
    expect((await readLedger(path)).entries.map((e) => e.serialNumber)).toEqual(["a1", "b1"]);

    const ledger = await Ledger.open(path, { create: true });
    expect(ledger.knownCount).toBe(2);
    for (const serial of ["a1", "b1"]) {
      await expect(ledger.append(entry(serial))).rejects.toMatchObject({
        code: "ERR_LEDGER_DUPLICATE_SERIAL",
      });
    }
    // Serials of damaged records were never handed out as recorded, so they stay usable.
    await ledger.append(entry("a2"));
    await ledger.close();
  });

  it("finds by device, serial or fingerprints, parsing only lines that can match, in any layout", async () => {
    const path = join(dir, "ledger.jsonl");
    const fingerprint = (serial: string) => serial.padEnd(64, "e");
    const issued = (serial: string, deviceId = `dev-${serial}`) => ({
      ...entry(serial, deviceId),
      sha256Fingerprint: fingerprint(serial),
    });
    const writer = await Ledger.open(path, { create: true });
    for (const serial of ["c1", "c10", "c2"]) await writer.append(issued(serial));
    await writer.append(issued("c3", "gerät-ö"));
    await writer.close();
    // Another tool's record (serialNumber last, a multi-byte device ID), a damaged record of a
    // fingerprint that is asked for, and hand-edited records in our own layout: an escape
    // JSON.stringify never writes, and a fingerprint that is not 64 hex digits.
    const record = (json: string) => `${json}\t${crc32(json).toString(16).padStart(8, "0")}\n`;
    const { serialNumber, ...rest } = issued("b1", "gerät-ü");
    const reordered = JSON.stringify({ ...rest, serialNumber });
    const damaged = `${JSON.stringify(issued("c9"))}\t00000000\n`;
    const escaped = JSON.stringify(issued("d1", "gerät-ä")).replace("ä", "\\u00e4");
    const short = JSON.stringify({ ...issued("d2"), sha256Fingerprint: "short" });
    await appendFile(path, record(reordered) + damaged + record(escaped) + record(short));

    const ledger = await Ledger.open(path);
    const serialsOf = async (query: LedgerQuery) =>
      (await ledger.find(query)).map((found) => found.serialNumber);
    expect(await serialsOf({})).toEqual(["c1", "c10", "c2", "c3", "b1", "d1", "d2"]);
    expect(await serialsOf({ deviceId: "gerät-ö" })).toEqual(["c3"]);
    expect(await serialsOf({ deviceId: "gerät-ä" })).toEqual(["d1"]);
    expect(await serialsOf({ sha256Fingerprints: ["short"] })).toEqual(["d2"]);
    expect(await serialsOf({ deviceId: "dev-c1" })).toEqual(["c1"]);
    expect(await serialsOf({ deviceId: "gerät-ü" })).toEqual(["b1"]);
    expect(await serialsOf({ serialNumber: "c2" })).toEqual(["c2"]);
    expect(
      await serialsOf({ sha256Fingerprints: ["c10", "b1", "c9", "ab"].map(fingerprint) }),
    ).toEqual(["c10", "b1"]);
    expect(
      await serialsOf({ deviceId: "dev-c1", sha256Fingerprints: [fingerprint("c2")] }),
    ).toEqual([]);
    await ledger.close();
  });

  it("group-commits concurrent appends and resolves each only once written", async () => {
    const path = join(dir, "ledger.jsonl");
    const ledger = await Ledger.open(path, { create: true });
    const serials = Array.from({ length: 500 }, (_, i) => i.toString(16).padStart(4, "0"));
    await Promise.all(serials.map((s) => ledger.append(entry(s))));
    expect((await readLedger(path)).entries.length).toBe(500);
    expect(await ledger.find({ deviceId: "dev-0007" })).toHaveLength(1);
    await ledger.close();
  });

  it("reads a ledger larger than its read chunk: lines across chunk edges, one longer than a chunk", async () => {
    const path = join(dir, "ledger.jsonl");
    const writer = await Ledger.open(path, { create: true, durability: "none" });
    const serials = Array.from({ length: 5000 }, (_, i) => i.toString(16).padStart(4, "0"));
    await Promise.all(serials.slice(0, 2500).map((s) => writer.append(entry(s))));
    await writer.append({ ...entry("long"), source: "x".repeat(2_500_000) }); // 2.5 MB line
    await Promise.all(serials.slice(2500).map((s) => writer.append(entry(s))));
    await writer.close();
    const whole = await readFile(path, "utf8");
    expect(whole.length).toBeGreaterThan(4 * 1024 * 1024);
    await appendFile(path, whole.slice(0, 100)); // a torn last record
    const reader = await Ledger.open(path);
    expect(reader.knownCount).toBe(5001);
    for (const serial of ["0000", "09c3", "long", "09c4", "1387"]) {
      await expect(reader.append(entry(serial))).rejects.toMatchObject({
        code: "ERR_LEDGER_DUPLICATE_SERIAL",
      });
    }
    await reader.append(entry("new1")); // isolated from the torn bytes
    await reader.close();
    expect(await readLedger(path)).toMatchObject({ damagedLines: 1 });
    expect((await readLedger(path)).entries).toHaveLength(5002);
  });

  it("breaks a lock left by a dead process, but waits for a live holder", async () => {
    const path = join(dir, "ledger.jsonl");
    const dead = spawn(process.execPath, ["-e", ""]);
    await exitOf(dead);
    await writeFile(`${path}.lock`, `${dead.pid} ${hostname()}\n`);
    const ledger = await Ledger.open(path, { create: true, lockTimeoutMs: 300 });
    await ledger.append(entry("01"));
    await writeFile(`${path}.lock`, `${process.pid} ${hostname()}\n`); // held by a live process
    await expect(ledger.append(entry("02"))).rejects.toMatchObject({
      code: "ERR_LEDGER_LOCKED",
      message: expect.stringContaining(`process ${process.pid}`),
    });
    await ledger.close();
  });

  it("two processes issuing at once from one CA: no duplicate serials, every record readable", async () => {
    const ca = await createTestCa(dir);
    await ca.close();
    const perChild = 100;
    const results = await Promise.all(
      ["a", "b"].map((label) => exitOf(spawnIssuer(ca.info.dir, String(perChild), label))),
    );
    for (const result of results) expect(result).toMatchObject({ code: 0, stderr: "" });
    const { entries, damagedLines } = await readLedger(ca.info.files.ledger);
    expect(damagedLines).toBe(0);
    expect(entries).toHaveLength(2 * perChild);
    expect(new Set(entries.map((e) => e.serialNumber)).size).toBe(2 * perChild);
    expect(new Set(entries.map((e) => e.deviceId)).size).toBe(2 * perChild);
  }, 60_000);

  it("a process killed (SIGKILL) mid-append loop leaves a readable ledger and a breakable lock", async () => {
    const ca = await createTestCa(dir);
    await ca.close();
    const child = spawnIssuer(ca.info.dir, "forever", "k");
    const exited = exitOf(child);
    // Wait until it is appending steadily, then kill it without warning.
    for (let size = 0; size < 60_000; ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      size = await stat(ca.info.files.ledger).then(
        (s) => s.size,
        () => 0,
      );
    }
    child.kill("SIGKILL");
    expect((await exited).signal).toBe("SIGKILL");
    const { entries, damagedLines } = await readLedger(ca.info.files.ledger);
    expect(entries.length).toBeGreaterThan(0);
    expect(damagedLines).toBeLessThanOrEqual(1);
    for (const e of entries)
      expect(e.pem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
    // The next issuer appends normally (breaking the dead child's lock if it held one).
    const ledger = await Ledger.open(ca.info.files.ledger, { lockTimeoutMs: 5_000 });
    await ledger.append(entry("ff00"));
    await ledger.close();
    const after = await readLedger(ca.info.files.ledger);
    expect(after.entries).toHaveLength(entries.length + 1);
    expect(after.damagedLines).toBe(damagedLines);
  }, 60_000);
});
