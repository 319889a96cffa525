// The production line: 4 station processes × 16 simulated boards sharing one PostgreSQL, beside
// 1 station × 16 boards on the file store, in one run. Each station is a child process of the
// built CLI (`node bin/nrf-provision.js station …`) with its own CA and journal; the boards are
// simulated nRF91s (2 s KEYGEN) on socat pseudo-terminals, served from this process.
//
// Prints the wall time of each configuration, the ratio line / single (target ≤ 1.3), and the
// database round trips and milliseconds of database time per board (the stations' own counts,
// written to the `stations` table when they stop). As a control it also runs the same 4 × 16 on
// the file store (separate CA folders and journals): line / that isolates what PostgreSQL costs
// from what running four stations at once costs on this machine.
//
//   npm run bench:line [-- --store postgres://…]   (default: a throwaway local cluster)

import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initCa } from "../../src/ca/index.js";
import { startSimModemOnPty } from "../../src/sim/modem/index.js";
import { Database } from "../../src/store/index.js";
import { type PgCluster, startPgCluster } from "../pg-cluster.js";

const KEYGEN_MS = 2000;
const BOARDS_PER_STATION = 16;
const LINE_STATIONS = 4;
const passphrase = "bench-line";
const cli = fileURLToPath(new URL("../../bin/nrf-provision.js", import.meta.url));

type Board = Awaited<ReturnType<typeof startSimModemOnPty>>;

function runStation(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, "station", ...args], {
      env: { ...process.env, NRF_PROVISION_CA_PASSPHRASE: passphrase },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += String(chunk);
    });
    // The failures' events say why a run is not clean.
    child.stdout.on("data", (chunk) => {
      for (const line of String(chunk).split("\n")) {
        if (line.includes('"board-failed"')) stderr += `${line}\n`;
      }
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(code) : reject(new Error(`station exited ${code}: ${stderr}`)),
    );
  });
}

async function station(dir: string, name: string, boards: Board[], store?: string) {
  const caDir = join(dir, `${name}-ca`);
  await initCa({ dir: caDir, passphrase, commonName: `bench ${name}` });
  return [
    "--ports",
    boards.map((b) => b.path).join(","),
    "--ca-dir",
    caDir,
    "--journal",
    join(dir, `${name}.jsonl`),
    "--device-id",
    "imei",
    "--concurrency",
    String(BOARDS_PER_STATION),
    "--onboard",
    "none",
    "--jsonl",
    ...(store === undefined ? [] : ["--store", store, "--station-id", name]),
  ];
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function lineStore(): Promise<{ url: string; cluster?: PgCluster }> {
  const flag = process.argv.indexOf("--store");
  const cluster = flag === -1 ? await startPgCluster() : undefined;
  const url =
    flag === -1 ? cluster!.url(await cluster!.createDatabase("bench")) : process.argv[flag + 1]!;
  const db = new Database(url);
  const { migrate } = await import("../../src/store/postgres/migrate.js");
  await migrate(db);
  await db.close();
  return { url, ...(cluster === undefined ? {} : { cluster }) };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "nrf-provision-bench-line-"));
  const { url, cluster } = await lineStore();
  const total = BOARDS_PER_STATION * (2 * LINE_STATIONS + 1);
  const boards = await Promise.all(
    Array.from({ length: total }, () => startSimModemOnPty({ keygenMs: KEYGEN_MS })),
  );
  try {
    const single = await station(dir, "file", boards.slice(0, BOARDS_PER_STATION));
    const line = await Promise.all(
      Array.from({ length: LINE_STATIONS }, (_, i) =>
        station(
          dir,
          `S${i + 1}`,
          boards.slice((i + 1) * BOARDS_PER_STATION, (i + 2) * BOARDS_PER_STATION),
          url,
        ),
      ),
    );
    const slice = (i: number) => boards.slice(i * BOARDS_PER_STATION, (i + 1) * BOARDS_PER_STATION);
    const control = await Promise.all(
      Array.from({ length: LINE_STATIONS }, (_, i) =>
        station(dir, `F${i + 1}`, slice(LINE_STATIONS + 1 + i)),
      ),
    );
    console.log(
      `line bench: ${KEYGEN_MS} ms simulated KEYGEN, ${BOARDS_PER_STATION} boards per station on socat pseudo-terminals`,
    );
    const fileMs = await timed(() => runStation(single));
    console.log(
      `1 station × ${BOARDS_PER_STATION} boards, file store:  ${(fileMs / 1000).toFixed(2)} s`,
    );
    const lineMs = await timed(() => Promise.all(line.map(runStation)));
    console.log(
      `${LINE_STATIONS} stations × ${BOARDS_PER_STATION} boards, PostgreSQL: ${(lineMs / 1000).toFixed(2)} s`,
    );
    console.log(`wall-time ratio line / single: ${(lineMs / fileMs).toFixed(2)} (target ≤ 1.3)`);
    const controlMs = await timed(() => Promise.all(control.map(runStation)));
    console.log(
      `control: ${LINE_STATIONS} stations × ${BOARDS_PER_STATION} boards, file store: ${(controlMs / 1000).toFixed(2)} s; line / control: ${(lineMs / controlMs).toFixed(2)}`,
    );
    const db = new Database(url);
    const [stats] = await db.query<{ trips: string; ms: number }>(
      "SELECT sum(db_round_trips) AS trips, sum(db_ms) AS ms FROM stations",
    );
    await db.close();
    const boardsOnLine = LINE_STATIONS * BOARDS_PER_STATION;
    console.log(
      `database per board: ${(Number(stats!.trips) / boardsOnLine).toFixed(1)} round trips, ${(stats!.ms / boardsOnLine).toFixed(1)} ms (sum over concurrent requests)`,
    );
  } finally {
    await Promise.all(boards.map((board) => board.close()));
    await cluster?.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
