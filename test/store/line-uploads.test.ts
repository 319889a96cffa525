import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { SimCloud } from "../../src/sim/cloud/index.js";
import { type PtyBoard, usePipelineBench } from "../pipeline/fixtures.js";
import { readJournal, runCli, summaryOf, uploadedDeviceIds } from "../pipeline/station-child.js";
import {
  eventually,
  lineStatus,
  migratedDatabase,
  sql,
  stationArgs,
  stationCa,
} from "./line-helpers.js";
import { usePgCluster } from "./pg-cluster.js";

const cluster = usePgCluster();

const deviceIdOf = (board: PtyBoard) => `nrf-${board.modem.imei}`;

/** Each board's row reached the simulated nRF Cloud exactly once, and nothing else did. */
function expectUploadedOnce(cloud: SimCloud, boards: PtyBoard[]): void {
  const uploads = uploadedDeviceIds(cloud);
  for (const board of boards) {
    expect(
      uploads.filter((id) => id === deviceIdOf(board)),
      deviceIdOf(board),
    ).toHaveLength(1);
  }
  expect(uploads).toHaveLength(boards.length);
}

/** `line export --jsonl`: every device onboarded and done. */
async function expectExportOnboarded(url: string, boards: PtyBoard[]): Promise<void> {
  const exported = await runCli(["line", "export", "--store", url, "--jsonl"], {});
  expect(exported.exitCode, exported.stderr).toBe(0);
  const rows = exported.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { deviceId: string; onboarding: string; state: string });
  expect(rows.map((row) => row.deviceId).sort()).toEqual(boards.map(deviceIdOf).sort());
  for (const row of rows) {
    expect(row, row.deviceId).toMatchObject({ onboarding: "succeeded", state: "done" });
  }
}

describe("batch onboarding shared by two stations", () => {
  const bench = usePipelineBench({ cloud: { bulkDelayMs: 100 } });

  it("one bulk job carries rows of both stations; every device is uploaded once; each station journals its boards' results", async () => {
    const url = await migratedDatabase(cluster());
    const boards = await bench.startBoards(12, { keygenMs: 300 });
    const stations = ["S1", "S2"] as const;
    const portsOf = { S1: boards.slice(0, 6), S2: boards.slice(6) };
    // Watching stations end only on Ctrl-C, sent to both once all 12 boards are done: the
    // line's 8th pending row, whichever station enqueues it, fills a batch before either
    // station ends, and that batch holds at least 2 rows of each station.
    const children = new Set<ChildProcess>();
    let done = 0;
    const runs = await Promise.all(
      stations.map(async (id) => {
        const args = stationArgs({
          ports: portsOf[id].map((board) => board.path),
          caDir: await stationCa(bench.dir, id),
          journal: join(bench.dir, `${id}.jsonl`),
          url,
          stationId: id,
        });
        const watching = ["--watch", "--watch-interval", "200", "--batch-size", "8"];
        return runCli([...args, ...watching], bench.env, {
          onEvent: (event, child) => {
            children.add(child);
            if (event.type === "board-done" && ++done === 12) {
              for (const station of children) station.kill("SIGINT");
            }
          },
        });
      }),
    );
    for (const [index, run] of runs.entries()) {
      expect(run.exitCode, run.stderr).toBe(130); // a watching station ends interrupted
      expect(summaryOf(run), stations[index]).toMatchObject({
        succeeded: 6,
        failed: 0,
        onboarding: { mode: "batch", onboarded: 6, failed: 0 },
      });
    }

    expectUploadedOnce(bench.cloud, boards);
    const jobs = await sql<{
      bulk_ops_request_id: string;
      state: string;
      enqueued_by: string[];
      rows: string;
    }>(
      url,
      `SELECT u.bulk_ops_request_id, u.state, array_agg(DISTINCT r.enqueued_by ORDER BY r.enqueued_by) AS enqueued_by,
         count(*) AS rows
       FROM uploads u JOIN upload_rows r ON r.upload_id = u.id GROUP BY u.id`,
    );
    expect(jobs.reduce((sum, job) => sum + Number(job.rows), 0)).toBe(12);
    expect(jobs.some((job) => job.enqueued_by.join() === "S1,S2")).toBe(true);
    for (const job of jobs) {
      expect(job.state).toBe("done");
      // The job is the simulated nRF Cloud's, with exactly the rows the store says it has.
      expect(bench.cloud.bulkOps.get(job.bulk_ops_request_id)?.details.endpoint).toBe(
        "ONBOARD_DEVICES",
      );
    }
    const notOnboarded = await sql(url, "SELECT 1 FROM upload_rows WHERE state <> 'onboarded'");
    expect(notOnboarded).toEqual([]);
    await expectExportOnboarded(url, boards);

    // Each station's own journal says nRF Cloud confirmed each of its boards, whoever sent it.
    for (const id of stations) {
      const records = await readJournal(join(bench.dir, `${id}.jsonl`));
      for (const board of portsOf[id]) {
        expect(
          records.some((r) => r.type === "onboarded" && r.deviceId === deviceIdOf(board)),
          `${id} ${deviceIdOf(board)}`,
        ).toBe(true);
      }
    }
  }, 240_000);
});

describe.each([
  {
    crashAt: "upload-journaled",
    left: "taken",
    exported: "in-flight",
    // No bulk ID: the rows were never sent; they go back to pending and out in S2's job.
    reconciled: { state: "released", station_id: "S1" },
  },
  {
    crashAt: "bulk-submitted",
    left: "submitted",
    exported: "submitted",
    // nRF Cloud has the job: S2 takes it over and records its result; nothing is sent again.
    reconciled: { state: "done", station_id: "S2" },
  },
])(
  "a station SIGKILLed after taking a bulk job ($crashAt)",
  ({ crashAt, left, exported, reconciled }) => {
    const bench = usePipelineBench({ cloud: { bulkDelayMs: 100 } });

    it("its job is reconciled by the other station; every device is onboarded once", async () => {
      const url = await migratedDatabase(cluster());
      const boards = await bench.startBoards(8, { keygenMs: 300 });
      const args = async (id: string, ports: PtyBoard[]) => [
        ...stationArgs({
          ports: ports.map((board) => board.path),
          caDir: await stationCa(bench.dir, id),
          journal: join(bench.dir, `${id}.jsonl`),
          url,
          stationId: id,
        }),
        "--batch-size",
        "4",
      ];
      const killed = await runCli(await args("S1", boards.slice(0, 4)), bench.env, { crashAt });
      expect(killed.signal, killed.stderr).toBe("SIGKILL");
      const [job] = await sql<{ id: string; state: string }>(
        url,
        "SELECT id, state FROM uploads WHERE station_id = 'S1'",
      );
      expect(job?.state).toBe(left);
      const export1 = await runCli(["line", "export", "--store", url, "--jsonl"], {});
      const s1Devices = export1.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { deviceId: string; onboarding: string });
      expect(s1Devices.map((device) => device.deviceId).sort()).toEqual(
        boards.slice(0, 4).map(deviceIdOf).sort(),
      );
      expect(new Set(s1Devices.map((device) => device.onboarding))).toEqual(new Set([exported]));
      await eventually(
        async () =>
          !(await lineStatus(url, ["--claim-timeout", "2"])).stations.find((s) => s.id === "S1")
            ?.alive,
        "station S1 seen as not alive",
      );

      const other = await runCli(await args("S2", boards.slice(4)), bench.env);
      expect(other.exitCode, other.stderr).toBe(0);
      // S2 took S1's boards up (provisioned, not onboarded) and finished their upload.
      expect(summaryOf(other)).toMatchObject({
        failed: 0,
        onboarding: { onboarded: 8, failed: 0 },
      });
      const [after] = await sql(url, "SELECT state, station_id FROM uploads WHERE id = $1", [
        job!.id,
      ]);
      expect(after).toMatchObject(reconciled);
      expectUploadedOnce(bench.cloud, boards);
      await expectExportOnboarded(url, boards);
      expect((await lineStatus(url)).line).toMatchObject({ done: 8, failed: 0, inProgress: 0 });
    }, 240_000);
  },
);
