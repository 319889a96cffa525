import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../src/sim/cloud/random.js";
import { usePipelineBench } from "../pipeline/fixtures.js";
import { expectNoLie } from "../pipeline/fuzz-verdict.js";
import { type CliRun, runCli } from "../pipeline/station-child.js";
import {
  eventually,
  lineStatus,
  migratedDatabase,
  sql,
  stationArgs,
  stationCa,
} from "./line-helpers.js";
import { usePgCluster } from "./pg-cluster.js";

const rounds = Number(process.env.NRF_PROVISION_LINE_FUZZ_ROUNDS ?? 12);
const crashPoints = [
  "issued-before-journal",
  "after-provisioned",
  "before-batch-upload",
  "upload-journaled",
  "upload-accepted",
  "bulk-submitted",
];

const cluster = usePgCluster();

/**
 * Two stations on one line (the PostgreSQL store, batch onboarding through the line's queue)
 * killed at random points, each time with a random subset of the boards. After a last run of
 * one station with every board plugged in (once no station is alive), each device's
 * certificate on its modem is in the line's ledger and is the one on nRF Cloud, or the station
 * names the device as failed and exits non-zero; and it names no device that is right. Replay with NRF_PROVISION_LINE_FUZZ_SEED.
 */
describe("line fuzz: two stations killed at random points around the shared upload queue", () => {
  const bench = usePipelineBench({ cloud: { bulkDelayMs: 50 } });

  it(`${rounds} random kills never end in an exit 0 that lies`, async () => {
    const seed = Number(process.env.NRF_PROVISION_LINE_FUZZ_SEED ?? Date.now() % 1_000_000);
    console.log(`line fuzz seed ${seed} (replay: NRF_PROVISION_LINE_FUZZ_SEED=${seed})`);
    const next = seededRandom(seed);
    const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
    const url = await migratedDatabase(cluster());
    const boards = await bench.startBoards(8, { keygenMs: 20 });
    const caDirs = {
      S1: await stationCa(bench.dir, "S1"),
      S2: await stationCa(bench.dir, "S2"),
    };
    const args = (id: "S1" | "S2", ports: string[]) => [
      ...stationArgs({
        ports,
        caDir: caDirs[id],
        journal: join(bench.dir, `${id}.jsonl`),
        url,
        stationId: id,
      }),
      "--batch-size",
      "3",
      "--wait-timeout",
      "20",
    ];

    const log: string[] = [];
    let killed = 0;
    for (let round = 0; round < rounds; round++) {
      const id = pick(["S1", "S2"] as const);
      const plugged = boards.filter(() => next() < 0.6);
      if (plugged.length === 0) plugged.push(pick(boards));
      const ports = plugged.map((board) => board.path);
      let run: CliRun;
      if (next() < 0.6) {
        const crashAt = pick(crashPoints);
        run = await runCli(args(id, ports), bench.env, { crashAt });
        log.push(`${round}: ${id}, ${plugged.length} boards, crash at ${crashAt}: ${outcome(run)}`);
      } else {
        const afterEvents = 1 + Math.floor(next() * 60);
        let left = afterEvents;
        run = await runCli(args(id, ports), bench.env, {
          onEvent: (_event, child) => {
            if (--left === 0) child.kill("SIGKILL");
          },
        });
        log.push(
          `${round}: ${id}, ${plugged.length} boards, kill after ${afterEvents} events: ${outcome(run)}`,
        );
      }
      if (run.signal === "SIGKILL") killed++;
    }

    await eventually(
      async () => (await lineStatus(url, ["--claim-timeout", "2"])).stations.every((s) => !s.alive),
      "no station alive",
    );
    const final = await runCli(
      args(
        "S1",
        boards.map((board) => board.path),
      ),
      bench.env,
    );
    const context = `seed ${seed}\n${log.join("\n")}\nfinal: ${final.exitCode}\n${final.stderr}`;
    const { wrong, reportedFailed, failures } = await expectNoLie(
      final,
      boards,
      bench.cloud,
      async (deviceId) =>
        (
          await sql<{ pem: string }>(url, "SELECT pem FROM certificates WHERE device_id = $1", [
            deviceId,
          ])
        ).map((row) => row.pem),
      context,
    );
    // No false alarm either: with no station alive, every device the last run names as failed
    // is one whose certificate is not where it belongs.
    for (const deviceId of reportedFailed) {
      expect(wrong, `${deviceId} reported failed: ${context}`).toContain(deviceId);
    }
    // Every job left open by a killed station was finished or released by a later run.
    const open = await sql(url, "SELECT 1 FROM uploads WHERE state IN ('taken', 'submitted')");
    if (final.exitCode === 0) expect(open, context).toEqual([]);
    if (process.env.NRF_PROVISION_FUZZ_LOG) {
      console.log(log.join("\n"), JSON.stringify(failures, null, 1));
    }
    console.log(
      `line fuzz seed ${seed}: ${rounds} rounds, ${killed} SIGKILLs, final exit ${final.exitCode}, ${wrong.length} devices reported failed`,
    );
    expect(killed, context).toBeGreaterThanOrEqual(1);
  }, 600_000);
});

function outcome(run: CliRun): string {
  return String(run.signal ?? run.exitCode);
}
