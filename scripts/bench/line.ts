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
// Each configuration's line also says when (from the spawn, its slowest station) the last board's
// KEYGEN was sent and answered: the 2 s KEYGEN is a wait, so what decides the wall time is the
// work before it (start-up, then connect, identity, claim, offline and inventory on every board)
// and after it, and how much of that four stations and their boards squeeze onto this machine.
//
// Each round uses fresh boards (a provisioned board would only be checked the next time) and
// runs the three configurations in a rotated order, so that no configuration always goes first
// (cold caches) or last; the medians over the rounds are what count. Alongside the wall times it
// prints where the CPU went: the stations' own (user + system, reported by each process at its
// exit), this process's (the simulated modems) and, on the throwaway cluster, the PostgreSQL
// server's (every backend's, from /proc).
//
//   npm run bench:line [-- --rounds N] [-- --store postgres://…]   (default: 3 rounds, a throwaway
//   local cluster configured as a user's would be: fsync and synchronous commit on)

import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
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
const TARGET = 1.3;
const passphrase = "bench-line";
const cli = fileURLToPath(new URL("../../bin/nrf-provision.js", import.meta.url));
// Each station reports its own CPU time (user + system, µs) on stderr as it exits.
const CPU_MARK = "bench-line-cpu ";
const reportCpuAtExit = `data:text/javascript,process.on("exit",()=>process.stderr.write(${JSON.stringify(`\n${CPU_MARK}`)}+JSON.stringify(process.cpuUsage())+"\\n"))`;

type Board = Awaited<ReturnType<typeof startSimModemOnPty>>;

interface StationRun {
  /** Spawn to the station's first event (start-up: imports, CA unlock, store opened). */
  startMs: number;
  /** Spawn to its last board's KEYGEN sent (after connect, identity, claim, offline, inventory). */
  keygenStartMs: number;
  /** Spawn to its last board's KEYGEN answered. */
  keygenEndMs: number;
  /** User + system CPU of the station process. */
  cpuMs: number;
}

function runStation(args: string[]): Promise<StationRun> {
  return new Promise((resolve, reject) => {
    const spawned = performance.now();
    let startMs = Number.NaN;
    let keygenStartMs = Number.NaN;
    let keygenEndMs = Number.NaN;
    const child = spawn(process.execPath, ["--import", reportCpuAtExit, cli, "station", ...args], {
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
        if (Number.isNaN(startMs) && line.includes('"station-start"')) {
          startMs = performance.now() - spawned;
        }
        if (line.includes('"board-failed"')) stderr += `${line}\n`;
        if (line.includes('"step":"keygen"')) {
          if (line.includes('"step-start"')) keygenStartMs = performance.now() - spawned;
          if (line.includes('"step-end"')) keygenEndMs = performance.now() - spawned;
        }
      }
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      const reported = stderr.split("\n").find((line) => line.startsWith(CPU_MARK));
      const cpu = JSON.parse(reported?.slice(CPU_MARK.length) ?? '{"user":NaN,"system":NaN}');
      const cpuMs = (cpu.user + cpu.system) / 1000;
      if (code === 0) resolve({ startMs, keygenStartMs, keygenEndMs, cpuMs });
      else reject(new Error(`station exited ${code}: ${stderr}`));
    });
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

/** The PostgreSQL server's CPU so far (ms): its processes' and its ended backends'. */
async function serverCpuMs(cluster: PgCluster): Promise<number> {
  const postmaster = Number(
    (await readFile(join(cluster.dir, "data", "postmaster.pid"), "utf8")).split("\n")[0],
  );
  const ticks = async (pid: string) => {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(fields[1]), own: Number(fields[11]) + Number(fields[12]), fields };
  };
  const main = await ticks(String(postmaster));
  // utime + stime of the postmaster and its live children, cutime + cstime of the reaped ones.
  let total = main.own + Number(main.fields[13]) + Number(main.fields[14]);
  for (const pid of (await readdir("/proc")).filter((name) => /^\d+$/.test(name))) {
    const process = await ticks(pid);
    if (process.ppid === postmaster) total += process.own;
  }
  return total * 10; // 100 clock ticks per second (Linux's USER_HZ)
}

async function lineStore(): Promise<{ url: string; cluster?: PgCluster }> {
  const flag = process.argv.indexOf("--store");
  const cluster = flag === -1 ? await startPgCluster({ durable: true }) : undefined;
  const url =
    flag === -1 ? cluster!.url(await cluster!.createDatabase("bench")) : process.argv[flag + 1]!;
  const db = new Database(url);
  const { migrate } = await import("../../src/store/postgres/migrate.js");
  await migrate(db);
  await db.close();
  return { url, ...(cluster === undefined ? {} : { cluster }) };
}

interface Measured {
  wallMs: number;
  /** Summed over the configuration's stations. */
  stationCpuMs: number;
  /** The slowest station's start-up. */
  startMs: number;
  /** The last KEYGEN sent and answered, over all stations (from the spawn). */
  keygenStartMs: number;
  keygenEndMs: number;
  /** This process: the simulated modems. */
  simCpuMs: number;
  serverCpuMs?: number;
}

async function measure(stations: string[][], cluster?: PgCluster): Promise<Measured> {
  const server = cluster === undefined ? undefined : await serverCpuMs(cluster);
  const sim = process.cpuUsage();
  const started = performance.now();
  const runs = await Promise.all(stations.map(runStation));
  const wallMs = performance.now() - started;
  const simCpu = process.cpuUsage(sim);
  return {
    wallMs,
    stationCpuMs: runs.reduce((sum, run) => sum + run.cpuMs, 0),
    startMs: Math.max(...runs.map((run) => run.startMs)),
    keygenStartMs: Math.max(...runs.map((run) => run.keygenStartMs)),
    keygenEndMs: Math.max(...runs.map((run) => run.keygenEndMs)),
    simCpuMs: (simCpu.user + simCpu.system) / 1000,
    ...(server === undefined ? {} : { serverCpuMs: (await serverCpuMs(cluster!)) - server }),
  };
}

async function dbTotals(url: string): Promise<{ trips: number; ms: number }> {
  const db = new Database(url);
  const [stats] = await db.query<{ trips: string | null; ms: number | null }>(
    "SELECT sum(db_round_trips) AS trips, sum(db_ms) AS ms FROM stations",
  );
  await db.close();
  return { trips: Number(stats?.trips ?? 0), ms: stats?.ms ?? 0 };
}

type Config = "single" | "line" | "control";

async function round(
  index: number,
  url: string,
  cluster: PgCluster | undefined,
): Promise<Record<Config, Measured> & { trips: number; dbMs: number }> {
  const dir = await mkdtemp(join(tmpdir(), "nrf-provision-bench-line-"));
  const total = BOARDS_PER_STATION * (2 * LINE_STATIONS + 1);
  const boards = await Promise.all(
    Array.from({ length: total }, () => startSimModemOnPty({ keygenMs: KEYGEN_MS })),
  );
  const slice = (i: number) => boards.slice(i * BOARDS_PER_STATION, (i + 1) * BOARDS_PER_STATION);
  try {
    const args: Record<Config, string[][]> = {
      single: [await station(dir, "file", slice(0))],
      line: await Promise.all(
        Array.from({ length: LINE_STATIONS }, (_, i) =>
          station(dir, `S${i + 1}`, slice(1 + i), url),
        ),
      ),
      control: await Promise.all(
        Array.from({ length: LINE_STATIONS }, (_, i) =>
          station(dir, `F${i + 1}`, slice(LINE_STATIONS + 1 + i)),
        ),
      ),
    };
    const order: Config[] = ["single", "line", "control"];
    const rotated = [...order.slice(index % 3), ...order.slice(0, index % 3)];
    const results = {} as Record<Config, Measured>;
    const before = await dbTotals(url);
    for (const config of rotated) {
      results[config] = await measure(args[config], config === "line" ? cluster : undefined);
    }
    const after = await dbTotals(url);
    return { ...results, trips: after.trips - before.trips, dbMs: after.ms - before.ms };
  } finally {
    await Promise.all(boards.map((board) => board.close()));
    await rm(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function describe(label: string, runs: Measured[]): string {
  const m = (pick: (run: Measured) => number) => median(runs.map(pick));
  const server =
    runs[0]?.serverCpuMs === undefined ? "" : `, server ${seconds(m((r) => r.serverCpuMs!))}`;
  return `${label} ${seconds(m((r) => r.wallMs))} (rounds: ${runs.map((r) => (r.wallMs / 1000).toFixed(2)).join(", ")}); start-up ${seconds(m((r) => r.startMs))}, last KEYGEN sent ${seconds(m((r) => r.keygenStartMs))}, answered ${seconds(m((r) => r.keygenEndMs))}; CPU: stations ${seconds(m((r) => r.stationCpuMs))}, simulated boards ${seconds(m((r) => r.simCpuMs))}${server}`;
}

async function main(): Promise<void> {
  const flag = process.argv.indexOf("--rounds");
  const rounds = flag === -1 ? 3 : Number(process.argv[flag + 1]);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds takes a whole number ≥ 1");
  const { url, cluster } = await lineStore();
  try {
    console.log(
      `line bench: ${KEYGEN_MS} ms simulated KEYGEN, ${BOARDS_PER_STATION} boards per station on socat pseudo-terminals, ${rounds} round(s), medians`,
    );
    const results: Array<Awaited<ReturnType<typeof round>>> = [];
    for (let i = 0; i < rounds; i++) results.push(await round(i, url, cluster));
    const wall = (config: Config) => median(results.map((r) => r[config].wallMs));
    const ratio = wall("line") / wall("single");
    console.log(
      describe(
        `1 station × ${BOARDS_PER_STATION} boards, file store: `,
        results.map((r) => r.single),
      ),
    );
    console.log(
      describe(
        `${LINE_STATIONS} stations × ${BOARDS_PER_STATION} boards, PostgreSQL:`,
        results.map((r) => r.line),
      ),
    );
    console.log(
      describe(
        `control: ${LINE_STATIONS} stations × ${BOARDS_PER_STATION} boards, file store:`,
        results.map((r) => r.control),
      ),
    );
    console.log(
      `wall-time ratio line / single: ${ratio.toFixed(2)} (target ≤ ${TARGET}: ${ratio <= TARGET ? "met" : "NOT met"}); line / control: ${(wall("line") / wall("control")).toFixed(2)}; control / single: ${(wall("control") / wall("single")).toFixed(2)}`,
    );
    // The configurations of one round ran back to back, under about the same load.
    const perRound = (a: Config, b: Config) =>
      results.map((r) => (r[a].wallMs / r[b].wallMs).toFixed(2)).join(", ");
    console.log(
      `per round: line / single ${perRound("line", "single")}; line / control ${perRound("line", "control")}`,
    );
    const boardsOnLine = LINE_STATIONS * BOARDS_PER_STATION;
    console.log(
      `database per board: ${(median(results.map((r) => r.trips)) / boardsOnLine).toFixed(1)} round trips, ${(median(results.map((r) => r.dbMs)) / boardsOnLine).toFixed(1)} ms (sum over concurrent requests)`,
    );
  } finally {
    await cluster?.destroy();
  }
}

await main();
