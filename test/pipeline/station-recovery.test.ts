import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createSimCertificateAuthority, issueKeyPair } from "../../src/sim/cloud/index.js";
import { type PtyBoard, usePipelineBench } from "./fixtures.js";
import { readJournal, runCli, stationArgs, summaryOf, uploadedDeviceIds } from "./station-child.js";

const secTag = 16842753;

/**
 * Issue 11, station recovery: each scenario runs the built CLI as a child process, killed with
 * SIGKILL at named points (NRF_PROVISION_TEST_CRASH_AT), against boards on PTYs (some unplugged
 * on the rerun) and the simulated nRF Cloud.
 */
describe("station recovery decides from facts", () => {
  const bench = usePipelineBench({ cloud: { bulkDelayMs: 100 } });

  const batchStationArgs = (boards: PtyBoard[], journal: string) =>
    stationArgs(
      boards,
      bench.caDir,
      journal,
      "--device-id",
      "imei",
      "--concurrency",
      "4",
      "--onboard",
      "batch",
      "--jsonl",
    );

  /** The modem's certificate is the ledger's only one for the device, and nRF Cloud holds it. */
  async function expectEverywhere(board: PtyBoard, context: string): Promise<void> {
    const deviceId = `nrf-${board.modem.imei}`;
    const onModem = board.modem
      .credentials()
      .find((credential) => credential.secTag === secTag && credential.type === 1);
    expect(onModem, `${deviceId} on the modem: ${context}`).toBeDefined();
    const ledger = await bench.ca.ledger.find({ deviceId });
    expect(
      ledger.map((entry) => entry.pem),
      `${deviceId} in the ledger: ${context}`,
    ).toContain(onModem!.content);
    expect(
      bench.cloud.devices.get(deviceId)?.onboardingPem,
      `${deviceId} on nRF Cloud: ${context}`,
    ).toBe(onModem!.content);
  }

  it("scenario 1: killed between the ledger append and `issued`, then after `provisioned` before the upload; the rerun without that board onboards it", async () => {
    const boards = await bench.startBoards(4, { keygenMs: 50 });
    const fourth = boards[3]!;
    const fourthId = `nrf-${fourth.modem.imei}`;
    const journal = join(bench.dir, "scenario-1.jsonl");
    const args = batchStationArgs(boards, journal);

    const first = await runCli(args, bench.env, { crashAt: `issued-before-journal@${fourthId}` });
    expect(first.signal, first.stderr).toBe("SIGKILL");
    expect(await bench.ca.ledger.find({ deviceId: fourthId })).toHaveLength(1);
    const afterFirst = await readJournal(journal);
    expect(afterFirst.some((r) => r.type === "issued" && r.deviceId === fourthId)).toBe(false);

    const second = await runCli(args, bench.env, { crashAt: "before-batch-upload" });
    expect(second.signal, second.stderr).toBe("SIGKILL");
    expect(uploadedDeviceIds(bench.cloud)).toEqual([]);

    await fourth.close(); // unplugged for the final run
    const final = await runCli(args, bench.env);
    expect(final.exitCode, final.stderr + final.stdout).toBe(0);
    expect(summaryOf(final)).toMatchObject({ failed: 0, onboarding: { onboarded: 4, failed: 0 } });
    for (const board of boards) await expectEverywhere(board, "scenario 1");
    expect(await bench.ca.ledger.find({ deviceId: fourthId })).toHaveLength(1);
  }, 120_000);

  it("scenario 1, fresh journal over the ledger: a journal moved aside, then a kill before the upload and a rerun without a board", async () => {
    const boards = await bench.startBoards(3, { keygenMs: 50 });
    const third = boards[2]!;
    const journal = join(bench.dir, "scenario-1-fresh.jsonl");
    const args = batchStationArgs(boards, journal);

    const first = await runCli(args, bench.env, { crashAt: "before-batch-upload" });
    expect(first.signal, first.stderr).toBe("SIGKILL");
    await rename(journal, `${journal}.aside`); // as the corrupt-journal error advises

    const second = await runCli(args, bench.env, { crashAt: "before-batch-upload" });
    expect(second.signal, second.stderr).toBe("SIGKILL");
    const records = await readJournal(journal);
    expect(records.filter((r) => r.type === "issued")).toEqual([]); // nothing issued this time
    expect(records.filter((r) => r.type === "provisioned")).toHaveLength(3);

    await third.close();
    const final = await runCli(args, bench.env);
    expect(final.exitCode, final.stderr + final.stdout).toBe(0);
    for (const board of boards) await expectEverywhere(board, "fresh journal");
  }, 120_000);

  it("scenario 2: a device nRF Cloud holds with an older certificate is not counted as onboarded", async () => {
    const [board] = await bench.startBoards(1);
    const deviceId = `nrf-${board!.modem.imei}`;
    const older = issueKeyPair(await createSimCertificateAuthority(), deviceId).certificatePem;
    expect(
      bench.cloud.registry.onboard({
        deviceId,
        pem: older,
        subType: "",
        tags: [],
        firmwareTypes: [],
      }),
    ).toBeNull();
    const journal = join(bench.dir, "scenario-2.jsonl");
    const args = batchStationArgs([board!], journal);

    // Killed with the upload journaled but not sent: on the rerun its outcome is unknown.
    const first = await runCli(args, bench.env, { crashAt: "upload-journaled" });
    expect(first.signal, first.stderr).toBe("SIGKILL");

    const rerun = await runCli(args, bench.env);
    expect(rerun.exitCode, rerun.stdout).toBe(6);
    const summary = summaryOf(rerun) as { failures: Array<Record<string, string>> };
    expect(summary.failures).toEqual([
      expect.objectContaining({ deviceId, step: "onboard", code: "ERR_BULK_FAILED" }),
    ]);
    expect(summary.failures[0]!.message).toContain("already exists");
    expect(bench.cloud.devices.get(deviceId)?.onboardingPem).toBe(older);
    const records = await readJournal(journal);
    expect(records.some((r) => r.type === "onboarded" && r.deviceId === deviceId)).toBe(false);
  }, 60_000);

  it("scenario 3: a literal --device-id with more than one board is refused before any board is touched", async () => {
    const boards = await bench.startBoards(2);
    const journal = join(bench.dir, "scenario-3.jsonl");
    const args = batchStationArgs(boards, journal);
    args[args.indexOf("imei")] = "bench-7";
    const run = await runCli(args, bench.env);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(
      "--device-id bench-7 is one literal ID, but the station has 2 boards",
    );
    for (const board of boards) {
      expect(board.modem.credentials()).toEqual([]);
      expect(board.modem.functionalMode).toBe(1);
    }
    expect(run.events.some((event) => event.type === "board-found")).toBe(false);
    expect(bench.cloud.devices.has("bench-7")).toBe(false);
  }, 30_000);

  it("scenario 4: a changed base64 character in a journaled certificate stops recovery, naming the line; nothing is uploaded", async () => {
    const boards = await bench.startBoards(2);
    const journal = join(bench.dir, "scenario-4.jsonl");
    const args = batchStationArgs(boards, journal);
    const first = await runCli(args, bench.env, { crashAt: "before-batch-upload" });
    expect(first.signal, first.stderr).toBe("SIGKILL");

    const lines = (await readFile(journal, "utf8")).split("\n");
    const index = lines.findIndex((line) => line.includes('"type":"issued"'));
    expect(index).toBeGreaterThanOrEqual(0);
    // One base64 character of the certificate body, the JSON stays valid.
    const at = lines[index]!.indexOf("MII") + 40;
    const original = lines[index]![at]!;
    const changed = original === "A" ? "B" : "A";
    lines[index] = lines[index]!.slice(0, at) + changed + lines[index]!.slice(at + 1);
    expect(() => JSON.parse(lines[index]!.split("\t")[0]!)).not.toThrow();
    await writeFile(journal, lines.join("\n"));
    const uploadsBefore = uploadedDeviceIds(bench.cloud).length;

    const rerun = await runCli(args, bench.env);
    expect(rerun.exitCode).not.toBe(0);
    expect(rerun.stderr).toContain(`${journal}: line ${index + 1} fails its checksum`);
    expect(rerun.stderr).not.toMatch(/at .*\.js:\d+/); // a clear error, not a stack trace
    expect(uploadedDeviceIds(bench.cloud)).toHaveLength(uploadsBefore);
    for (const board of boards) {
      expect(bench.cloud.devices.has(`nrf-${board.modem.imei}`)).toBe(false);
    }
  }, 60_000);
});
