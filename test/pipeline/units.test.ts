import { spawnSync } from "node:child_process";
import { appendFile, readFile, symlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  appendToOnboardingCsv,
  deviceIdFor,
  Journal,
  keygenAttributesFor,
  loadRootCaBundle,
  parseDeviceIdPolicy,
  splitCsvRecords,
} from "../../src/pipeline/index.js";
import { removeDir, tempDir } from "./fixtures.js";

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await removeDir(dir);
});

const certificatePem = (body: string) =>
  `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;

describe("device ID policy", () => {
  const identity = { imei: "352656100367872", deviceUuid: "50363154-3932-4b2c-80cf-1b2c3d4e5f60" };
  it("maps uuid, imei, imei:PREFIX and a literal ID", () => {
    expect(deviceIdFor(parseDeviceIdPolicy("uuid"), identity)).toBe(identity.deviceUuid);
    expect(deviceIdFor(parseDeviceIdPolicy("imei"), identity)).toBe("nrf-352656100367872");
    expect(deviceIdFor(parseDeviceIdPolicy("imei:acme-"), identity)).toBe("acme-352656100367872");
    expect(deviceIdFor(parseDeviceIdPolicy("bench-7"), identity)).toBe("bench-7");
  });
  it("passes CN only when the ID is not the modem's default (its UUID)", () => {
    expect(keygenAttributesFor(parseDeviceIdPolicy("uuid"), identity.deviceUuid)).toBeUndefined();
    expect(keygenAttributesFor(parseDeviceIdPolicy("imei"), "nrf-1")).toBe("CN=nrf-1");
  });
  it("refuses IDs nRF Cloud would refuse, as usage errors", () => {
    for (const bad of ["has space", "x".repeat(65), "imei:bad/prefix"]) {
      expect(() => parseDeviceIdPolicy(bad)).toThrow(
        expect.objectContaining({ code: "ERR_USAGE" }),
      );
    }
  });
});

describe("Journal", () => {
  it("replays records into per-device histories and cuts a torn last line", async () => {
    const path = join(dir, "journal-replay.jsonl");
    const journal = await Journal.open(path);
    await journal.record({ type: "keygen-start", deviceId: "d1", secTag: 7 });
    await journal.record({
      type: "keygen-done",
      deviceId: "d1",
      secTag: 7,
      csrPem: "CSR",
      publicKeyPem: "KEY",
    });
    await journal.record({ type: "offline", deviceId: "d1", modeBefore: 1 });
    await journal.record({ type: "offline", deviceId: "d1", modeBefore: 4 });
    await journal.close();
    await appendFile(path, '{"type":"issued","deviceId":"d1","certifi'); // killed mid-append

    const reopened = await Journal.open(path);
    const history = reopened.recall("d1");
    expect(history).toMatchObject({
      keygenInFlight: false,
      keygen: { secTag: 7, csrPem: "CSR" },
      modeToRestore: 1, // the first mode seen, not the one a crashed run left behind
    });
    expect(history?.provisioned).toBeUndefined();
    expect(history?.certificate).toBeUndefined();
    await reopened.record({ type: "mode-restored", deviceId: "d1" });
    await reopened.record({ type: "keygen-start", deviceId: "d1", secTag: 7 });
    expect(reopened.recall("d1")).toMatchObject({ keygenInFlight: true });
    expect(reopened.recall("d1")?.keygen).toBeUndefined();
    expect(reopened.recall("d1")?.modeToRestore).toBeUndefined();
    await reopened.close();
    const lines = (await readFile(path, "utf8")).trim().split("\n");
    expect(lines).toHaveLength(6);
    for (const line of lines) expect(line).toMatch(/^\{.*\}\t[0-9a-f]{8}$/);
  });

  it("groups concurrent appends and keeps their order; onboarding states fold per device", async () => {
    const journal = await Journal.open(join(dir, "journal-group.jsonl"));
    await Promise.all([
      journal.record({
        type: "onboard-start",
        deviceIds: ["a", "b"],
        sha256Fingerprints: ["fa", "fb"],
      }),
      journal.record({ type: "bulk-submitted", bulkOpsRequestId: "01J", deviceIds: ["a", "b"] }),
      journal.record({
        type: "onboarded",
        deviceId: "a",
        sha256Fingerprint: "fa",
        bulkOpsRequestId: "01J",
      }),
    ]);
    expect(journal.records.map((r) => r.type)).toEqual([
      "onboard-start",
      "bulk-submitted",
      "onboarded",
    ]);
    expect(journal.recall("a")?.onboarding).toEqual({
      state: "succeeded",
      sha256Fingerprint: "fa",
    });
    expect(journal.recall("b")?.onboarding).toEqual({
      state: "submitted",
      bulkOpsRequestId: "01J",
      sha256Fingerprint: "fb",
    });
    await journal.close();
  });

  it("belongs to one station at a time: a second is refused and cuts nothing off", async () => {
    const path = join(dir, "journal-shared.jsonl");
    const first = await Journal.open(path);
    await first.record({ type: "station-start", pid: process.pid });
    // The first station is mid-append: to a second one this would look like a torn line.
    const inFlight = '{"type":"identity","port":"/dev/ttyACM0"';
    await appendFile(path, inFlight);
    const refusal = await Journal.open(path).catch((error: unknown) => error);
    expect(refusal).toMatchObject({
      code: "ERR_PROVISION_JOURNAL_IN_USE",
      details: { path, lockPath: `${path}.lock`, pid: process.pid, host: hostname() },
    });
    expect((refusal as Error).message).toContain(`process ${process.pid} on ${hostname()}`);
    expect(await readFile(path, "utf8")).toMatch(new RegExp(`${inFlight}$`));
    await first.close();
    const second = await Journal.open(path); // released: now the tail is torn, and cut
    expect(second.records.map((r) => r.type)).toEqual(["station-start"]);
    await second.close();
  });

  it("is locked by its real path: the same journal through a symlink is refused", async () => {
    const path = join(dir, "journal-real.jsonl");
    const link = join(dir, "journal-link.jsonl");
    const first = await Journal.open(path);
    await symlink(path, link);
    await expect(Journal.open(link)).rejects.toMatchObject({
      code: "ERR_PROVISION_JOURNAL_IN_USE",
      details: { path: link, lockPath: `${path}.lock` },
    });
    await first.close();
    const throughLink = await Journal.open(link); // released: the link opens the same file
    await expect(Journal.open(path)).rejects.toMatchObject({
      code: "ERR_PROVISION_JOURNAL_IN_USE",
    });
    await throughLink.close();
  });

  it("takes over the lock of a station that was killed", async () => {
    const path = join(dir, "journal-orphaned.jsonl");
    const dead = spawnSync(process.execPath, ["-e", "process.exit(0)"]);
    await writeFile(`${path}.lock`, `${dead.pid} ${hostname()}\n`);
    const journal = await Journal.open(path);
    await journal.record({ type: "station-start", pid: process.pid });
    expect(await readFile(`${path}.lock`, "utf8")).toBe(`${process.pid} ${hostname()}\n`);
    await journal.close();
    await expect(readFile(`${path}.lock`)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a journal with a damaged record in the middle, naming the line", async () => {
    const path = join(dir, "journal-damaged.jsonl");
    const written = await Journal.open(path);
    await written.record({ type: "station-start", pid: 1 });
    await written.record({ type: "station-start", pid: 2 });
    await written.record({ type: "station-start", pid: 3 });
    await written.close();
    const lines = (await readFile(path, "utf8")).split("\n");
    lines[1] = lines[1]!.replace('"pid":2', '"pid":7'); // still valid JSON: only the checksum tells
    await writeFile(path, lines.join("\n"));
    await expect(Journal.open(path)).rejects.toMatchObject({
      code: "ERR_PROVISION_JOURNAL_CORRUPT",
      details: { line: 2 },
      message: expect.stringContaining("line 2 fails its checksum"),
    });
    // Refused, it holds nothing: no lock is left behind for the next attempt.
    await expect(readFile(`${path}.lock`)).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("onboarding CSV (--onboard csv:FILE)", () => {
  it("appends rows, refuses a duplicate, and with replace swaps only that row", async () => {
    const file = join(dir, "onboard.csv");
    const append = appendToOnboardingCsv(file, { replace: false });
    await append.onboard({ deviceId: "dev-1", certificate: certificatePem("AAAA") });
    await append.onboard({
      deviceId: "dev-2",
      certificate: certificatePem("BBBB"),
      tags: ["a", "b"],
    });
    await expect(
      append.onboard({ deviceId: "dev-1", certificate: certificatePem("CCCC") }),
    ).rejects.toMatchObject({ code: "ERR_PROVISION_CSV_DUPLICATE" });
    const before = await readFile(file, "utf8");
    expect(splitCsvRecords(before)).toEqual([
      `dev-1,,,,"${certificatePem("AAAA")}"\n`,
      `dev-2,,a|b,,"${certificatePem("BBBB")}"\n`,
    ]);

    const replace = appendToOnboardingCsv(file, { replace: true });
    expect(
      await replace.onboard({ deviceId: "dev-1", certificate: certificatePem("CCCC") }),
    ).toMatchObject({ status: "replaced" });
    expect(splitCsvRecords(await readFile(file, "utf8"))).toEqual([
      `dev-2,,a|b,,"${certificatePem("BBBB")}"\n`,
      `dev-1,,,,"${certificatePem("CCCC")}"\n`,
    ]);
  });
});

describe("root CA bundle (--root-ca FILE…)", () => {
  it("is Amazon Root CA 1 as bundled, or the given files concatenated with LF endings", async () => {
    const amazon = await loadRootCaBundle();
    expect(Buffer.byteLength(amazon)).toBe(1188);
    const first = join(dir, "first.pem");
    const second = join(dir, "second.pem");
    await writeFile(first, certificatePem("AAAA").replaceAll("\n", "\r\n"));
    await writeFile(second, certificatePem("BBBB").trimEnd());
    expect(await loadRootCaBundle([first, second])).toBe(
      certificatePem("AAAA") + certificatePem("BBBB"),
    );
    const notPem = join(dir, "not.pem");
    await writeFile(notPem, "hello");
    await expect(loadRootCaBundle([notPem])).rejects.toMatchObject({ code: "ERR_USAGE" });
  });
});
