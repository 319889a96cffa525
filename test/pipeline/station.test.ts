import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/main.js";
import { createCloudClient, parseCsvRecords } from "../../src/cloud/index.js";
import {
  Journal,
  parseDeviceIdPolicy,
  runStation,
  type StationEvent,
  type StationOptions,
} from "../../src/pipeline/index.js";
import type { SimCloud } from "../../src/sim/cloud/index.js";
import { captureIo, passphrase, serialConnection, usePipelineBench } from "./fixtures.js";

/** Device IDs of every row uploaded to the simulated cloud with OnboardDevices. */
function uploadedDeviceIds(cloud: SimCloud): string[] {
  return [...cloud.bulkOps.values()]
    .filter((op) => op.details.endpoint === "ONBOARD_DEVICES")
    .flatMap((op) => parseCsvRecords(op.body).map((record) => record.fields[0]!));
}

describe("station", () => {
  const bench = usePipelineBench({ cloud: { bulkDelayMs: 50 } });

  async function station(
    journal: Journal,
    ports: string[],
    extra: Partial<StationOptions> = {},
  ): Promise<{ summary: Awaited<ReturnType<typeof runStation>>; events: StationEvent[] }> {
    const { ca, cloud, rootCaPem } = bench;
    const events: StationEvent[] = [];
    const summary = await runStation({
      listPorts: async () => ports,
      connect: serialConnection,
      ca,
      journal,
      board: { deviceIdPolicy: parseDeviceIdPolicy("imei"), rootCaPem },
      onboard: "batch",
      cloud: createCloudClient({ baseUrl: cloud.baseUrl, apiKey: cloud.apiKey }),
      concurrency: 3,
      interrupted: new Promise(() => {}),
      batchSize: 2,
      bulkWait: { pollIntervalMs: 20 },
      onEvent: (event) => events.push(event),
      ...extra,
    });
    return { summary, events };
  }

  it("provisions boards in parallel, a failing board stops nobody, bulk onboarding in chunks; a rerun redoes nothing", async () => {
    const { ca, cloud, dir } = bench;
    const good = await bench.startBoards(3);
    const [bad] = await bench.startBoards(1, { faults: { cmeOn: { "AT%KEYGEN": 514 } } });
    const ports = [...good, bad!].map((board) => board.path);
    const journalPath = join(dir, "station-a.jsonl");

    const journal = await Journal.open(journalPath);
    const { summary, events } = await station(journal, ports);
    await journal.close();
    expect(summary).toMatchObject({ boards: 4, succeeded: 3, failed: 1 });
    expect(summary.outcomes.provisioned).toBe(3);
    expect(summary.onboarding).toMatchObject({ onboarded: 3, failed: 0 });
    expect(summary.failures[0]).toMatchObject({
      port: bad!.path,
      step: "keygen",
      code: "ERR_AT_CME",
    });
    expect(bad!.modem.functionalMode).toBe(1);
    const ids = good.map((board) => `nrf-${board.modem.imei}`);
    expect(uploadedDeviceIds(cloud).sort()).toEqual([...ids].sort());
    expect(events.filter((e) => e.type === "onboarding-upload")).toHaveLength(2); // 2 + 1 rows
    for (const id of ids) expect(cloud.devices.has(id)).toBe(true);

    // Same journal again: every good board is found done, nothing is uploaded again.
    const reopened = await Journal.open(journalPath);
    const again = await station(reopened, ports);
    await reopened.close();
    expect(again.summary.outcomes["already-provisioned"]).toBe(3);
    expect(again.summary.failed).toBe(1);
    expect(uploadedDeviceIds(cloud)).toHaveLength(3);
    for (const id of ids) expect(await ca.ledger.find({ deviceId: id })).toHaveLength(1);
  });

  it("--watch provisions boards as they appear in the board list, until interrupted", async () => {
    const watched = await bench.startBoards(2);
    const plugged: string[] = [];
    let stop: () => void = () => {};
    const interrupted = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const journal = await Journal.open(join(bench.dir, "station-watch.jsonl"));
    const done: string[] = [];
    const run = station(journal, [], {
      listPorts: async () => [...plugged],
      watch: { intervalMs: 20 },
      interrupted,
      onboard: "none",
      onEvent: (event) => {
        if (event.type !== "board-done") return;
        done.push(event.board.port);
        if (done.length === 1) plugged.push(watched[1]!.path); // the second board arrives later
        if (done.length === 2) stop();
      },
    });
    plugged.push(watched[0]!.path);
    const { summary } = await run;
    await journal.close();
    expect(done).toEqual(watched.map((board) => board.path));
    expect(summary).toMatchObject({ boards: 2, succeeded: 2, failed: 0, interrupted: true });
  });

  it("nrf-provision station --jsonl: events per line, exit code 6 when a board failed", async () => {
    const { caDir, cloud, dir } = bench;
    const [good] = await bench.startBoards(1);
    const [bad] = await bench.startBoards(1, { firmware: "mfw_nrf9160_1.2.3" });
    const { io, out } = captureIo(bench.env, dir);
    const code = await runCli(
      [
        "station",
        "--ports",
        `${good!.path},${bad!.path}`,
        "--ca-dir",
        caDir,
        "--journal",
        join(dir, "station-cli.jsonl"),
        "--onboard",
        "single",
        "--jsonl",
      ],
      io,
    );
    expect(code).toBe(6);
    const events = out()
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(events[0].type).toBe("station-start");
    expect(events.at(-1).type).toBe("station-end");
    const failed = events.find((e) => e.type === "board-failed");
    expect(failed).toMatchObject({ step: "identity", code: "ERR_MODEM_FIRMWARE_TOO_OLD" });
    expect(failed.board.port).toBe(bad!.path);
    expect(events.find((e) => e.type === "board-done").board.port).toBe(good!.path);
    expect(cloud.devices.has(good!.modem.deviceUuid)).toBe(true);
  });

  it("interrupted before any board started: exit 130 and no board touched", async () => {
    const { caDir, dir } = bench;
    const [board] = await bench.startBoards(1);
    const { io } = captureIo({ NRF_PROVISION_CA_PASSPHRASE: passphrase }, dir);
    const code = await runCli(
      [
        "station",
        "--ports",
        board!.path,
        "--ca-dir",
        caDir,
        "--journal",
        join(dir, "station-interrupted.jsonl"),
        "--onboard",
        "none",
      ],
      { ...io, interrupted: Promise.resolve() },
    );
    expect(code).toBe(130);
    expect(board!.modem.credentials()).toEqual([]);
  });
});
