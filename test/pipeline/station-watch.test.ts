import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createCloudClient } from "../../src/cloud/index.js";
import { socatAvailable } from "../../src/sim/modem/index.js";
import { type CliProcess, firstJson, jsonLines, spawnCli } from "../cli/process.js";
import { makeFakeSysfs } from "../serial/fake-sysfs.js";
import { createTestCa, passphrase, removeDir, tempDir } from "./fixtures.js";

const hasSocat = await socatAvailable();

/**
 * `station --watch` as a user runs it: the built CLI in a child process, against simulated
 * boards and a simulated nRF Cloud that are child processes too (`sim modem`, `sim cloud`).
 */
describe.skipIf(!hasSocat)("nrf-provision station --watch (child processes)", () => {
  let dir: string;
  let caDir: string;
  let cloud: CliProcess;
  let cloudInfo: { baseUrl: string; apiKey: string };
  const started: CliProcess[] = [];

  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const child = spawnCli(args, { cwd: dir, env });
    started.push(child);
    return child;
  };
  /** A simulated board whose port appears at `path` once it runs. */
  const plugIn = async (path: string, extra: string[] = []) => {
    const board = run(["sim", "modem", "--link", path, "--json", ...extra]);
    return { process: board, ...(await firstJson<{ port: string; imei: string }>(board)) };
  };
  const stationEnv = () => ({
    NRF_PROVISION_CA_PASSPHRASE: passphrase,
    NRF_CLOUD_API_KEY: cloudInfo.apiKey,
    NRF_CLOUD_BASE_URL: cloudInfo.baseUrl,
  });

  beforeAll(async () => {
    dir = await tempDir("nrf-provision-watch-");
    const ca = await createTestCa(dir);
    await ca.ca.close();
    caDir = ca.caDir;
    cloud = spawnCli(["sim", "cloud", "--json", "--bulk-delay-ms", "50"], { cwd: dir });
    cloudInfo = await firstJson(cloud);
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((child) => child.kill()));
  });
  afterAll(async () => {
    await cloud?.kill();
    if (dir) await removeDir(dir);
  });

  it("keeps running, provisions a board plugged in later, and on SIGINT finishes it, uploads, prints the summary and exits 130", async () => {
    const ports = [join(dir, "b1"), join(dir, "b2")];
    const first = await plugIn(ports[0]!);
    const station = run(
      [
        "station",
        "--ports",
        ports.join(","),
        "--watch",
        "--watch-interval",
        "100",
        "--ca-dir",
        caDir,
        "--journal",
        join(dir, "watch.jsonl"),
        "--device-id",
        "imei",
        "--onboard",
        "batch",
        "--jsonl",
      ],
      stationEnv(),
    );
    const doneOn = (port: string) => (out: string) =>
      jsonLines(out).some(
        (event) => event.type === "board-done" && (event.board as { port: string }).port === port,
      );
    await station.until(doneOn(ports[0]!));

    // Idle, nothing attached but the finished board: a watching station waits for more.
    await sleep(1500);
    expect(station.running(), station.err()).toBe(true);

    // The second board arrives now; its KEYGEN is slow, so Ctrl-C lands while it runs.
    const second = await plugIn(ports[1]!, ["--keygen-ms", "1500"]);
    await station.until((out) =>
      jsonLines(out).some(
        (event) =>
          event.type === "step-start" &&
          event.step === "keygen" &&
          (event.board as { port: string }).port === ports[1],
      ),
    );
    station.child.kill("SIGINT");
    expect(await station.exit).toEqual({ code: 130, signal: null });

    const events = jsonLines(station.out());
    const types = events.map((event) => event.type);
    const stopping = types.indexOf("station-stopping");
    expect(stopping).toBeGreaterThan(0);
    // The board in progress finished after the interruption, then the queue was uploaded.
    const secondDone = events.findIndex(
      (event) => event.type === "board-done" && (event.board as { port: string }).port === ports[1],
    );
    expect(secondDone).toBeGreaterThan(stopping);
    const upload = events.find((event) => event.type === "onboarding-upload");
    expect(upload).toMatchObject({ devices: 2 });
    expect(types.indexOf("onboarding-upload")).toBeGreaterThan(secondDone);
    expect(events.at(-1)).toMatchObject({
      type: "station-end",
      summary: {
        boards: 2,
        succeeded: 2,
        failed: 0,
        interrupted: true,
        onboarding: { mode: "batch", onboarded: 2, failed: 0 },
      },
    });
    expect(station.err()).toMatch(/station: stopping: 1 board\(s\) in progress finish/);

    // Both devices are on the simulated nRF Cloud (another process), asked over HTTP.
    const client = createCloudClient(cloudInfo);
    for (const board of [first, second]) {
      await expect(client.fetchDevice({ deviceId: `nrf-${board.imei}` })).resolves.toMatchObject({
        id: `nrf-${board.imei}`,
      });
    }
  }, 120_000);

  it("SIGTERM stops it the same way; without --jsonl it prints the per-board line and the summary", async () => {
    const port = join(dir, "t1");
    const board = await plugIn(port);
    const station = run(
      [
        "station",
        "--ports",
        port,
        "--watch",
        "--watch-interval",
        "100",
        "--ca-dir",
        caDir,
        "--journal",
        join(dir, "watch-term.jsonl"),
        "--device-id",
        "imei",
        "--onboard",
        "single",
      ],
      stationEnv(),
    );
    await station.until((out) => out.includes(`nrf-${board.imei}`));
    station.child.kill("SIGTERM");
    expect(await station.exit).toEqual({ code: 130, signal: null });
    expect(station.out()).toMatch(
      new RegExp(
        `^ok {6}${port} {2}nrf-${board.imei} {2}provisioned .*onboarding single: onboarded`,
        "m",
      ),
    );
    expect(station.out()).toMatch(
      /^station: 1 of 1 board\(s\) succeeded, 0 failure\(s\) in .* \(interrupted\)$/m,
    );
    expect(station.err()).toContain(`station: watching ${port} for boards every 100 ms`);
  }, 120_000);

  it("--ports auto with no board attached says it is watching, waits, and exits 130 on SIGINT", async () => {
    const sysfs = await makeFakeSysfs([]);
    const station = run(
      [
        "station",
        "--ports",
        "auto",
        "--watch",
        "--watch-interval",
        "100",
        "--ca-dir",
        caDir,
        "--journal",
        join(dir, "watch-auto.jsonl"),
        "--onboard",
        "none",
      ],
      { NRF_PROVISION_CA_PASSPHRASE: passphrase, NRF_PROVISION_SYSFS_ROOT: sysfs },
    );
    await station.until((err) => err.includes("station: watching auto for boards"), "stderr");
    await sleep(1500);
    expect(station.running(), station.err()).toBe(true);
    station.child.kill("SIGINT");
    expect(await station.exit).toEqual({ code: 130, signal: null });
    expect(station.out()).toMatch(
      /^station: 0 of 0 board\(s\) succeeded, 0 failure\(s\) in .* \(interrupted\)$/m,
    );
    await removeDir(sysfs);
  }, 60_000);
});
