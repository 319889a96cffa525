import { stat, truncate } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../src/sim/cloud/random.js";
import { type PtyBoard, usePipelineBench } from "./fixtures.js";
import { expectNoLie } from "./fuzz-verdict.js";
import { type CliRun, runCli, stationArgs } from "./station-child.js";

const kills = Number(process.env.NRF_PROVISION_FUZZ_KILLS ?? 50);
const crashPoints = [
  "issued-before-journal",
  "after-provisioned",
  "before-batch-upload",
  "upload-journaled",
  "upload-accepted",
];

/**
 * Issue 11: the station (built CLI, child process) is killed at random points over a run of 8
 * boards, with random boards unplugged and the journal randomly cut short between runs. After
 * a last run with every board plugged in, each device's certificate on the modem equals the
 * one in the CA ledger and the one on nRF Cloud, or the station names the device as failed
 * and exits non-zero. Replay a run with NRF_PROVISION_FUZZ_SEED=<seed>.
 */
describe("station fuzz: random kills, unplugs and journal truncation", () => {
  const bench = usePipelineBench({ cloud: { bulkDelayMs: 50 } });

  it(`${kills} random kills over 8 boards never end in an exit 0 that lies`, async () => {
    const seed = Number(process.env.NRF_PROVISION_FUZZ_SEED ?? Date.now() % 1_000_000);
    console.log(`station fuzz seed ${seed} (replay: NRF_PROVISION_FUZZ_SEED=${seed})`);
    const next = seededRandom(seed);
    const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
    const boards = await bench.startBoards(8, { keygenMs: 20 });
    const journal = join(bench.dir, "fuzz.jsonl");
    const args = (plugged: PtyBoard[]) =>
      stationArgs(
        plugged,
        bench.caDir,
        journal,
        "--device-id",
        "imei",
        "--concurrency",
        "4",
        "--onboard",
        "batch",
        "--wait-timeout",
        "20",
        "--jsonl",
      );

    const log: string[] = [];
    let killed = 0;
    for (let round = 0; round < kills; round++) {
      const plugged = boards.filter(() => next() < 0.75);
      if (plugged.length === 0) plugged.push(pick(boards));
      let run: CliRun;
      const started = Date.now();
      if (next() < 0.5) {
        const point = pick(crashPoints);
        const board = next() < 0.5 ? pick(plugged) : undefined;
        const crashAt = board === undefined ? point : `${point}@nrf-${board.modem.imei}`;
        run = await runCli(args(plugged), bench.env, { crashAt });
        log.push(
          `${round}: ${plugged.length} boards, crash at ${crashAt}: ${run.signal ?? run.exitCode}`,
        );
      } else {
        const afterEvents = 1 + Math.floor(next() * 60);
        let left = afterEvents;
        run = await runCli(args(plugged), bench.env, {
          onEvent: (_event, child) => {
            if (--left === 0) child.kill("SIGKILL");
          },
        });
        log.push(
          `${round}: ${plugged.length} boards, kill after ${afterEvents} events: ${run.signal ?? run.exitCode}`,
        );
      }
      if (run.signal === "SIGKILL") killed++;
      log[log.length - 1] += ` (${Date.now() - started} ms)`;
      if (next() < 0.25) {
        const size = (await stat(journal).catch(() => ({ size: 0 }))).size;
        const cut = Math.floor(size * (1 - next() * 0.3));
        await truncate(journal, cut).catch(() => {});
        log.push(`${round}: journal cut from ${size} to ${cut} bytes`);
      }
    }

    const final = await runCli(args(boards), bench.env);
    const context = `seed ${seed}\n${log.join("\n")}\nfinal: ${final.exitCode}\n${final.stderr}`;
    // Never exit 0 unless every device is right; any device not right is named as failed.
    const { wrong } = await expectNoLie(
      final,
      boards,
      bench.cloud,
      async (deviceId) => (await bench.ca.ledger.find({ deviceId })).map((entry) => entry.pem),
      context,
    );
    if (process.env.NRF_PROVISION_FUZZ_LOG) console.log(log.join("\n"));
    console.log(
      `station fuzz seed ${seed}: ${kills} rounds, ${killed} SIGKILLs, final exit ${final.exitCode}, ${wrong.length} devices reported failed`,
    );
    expect(killed, context).toBeGreaterThanOrEqual(kills / 2);
  }, 600_000);
});
