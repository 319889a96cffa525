// Station scaling: 1, 4 and 16 simulated boards with a 2-second simulated KEYGEN, provisioned
// by the real station (journal with fsync, CA with its ledger, real AT client). Boards sit on
// socat pseudo-terminals opened with the real serialport package (in memory without socat).
//
// Prints the median wall time of each configuration, the 1-board run as the baseline, the
// ratio 16 / 1 (target ≤ 1.25), and the host overhead per board beyond the simulated latency
// (target < 30 ms): the CPU time this process spent per board (station + simulators, so an
// upper bound; the fixed cost of a run is separated out) and the wall time of one board
// beyond its 2 s KEYGEN.
//
//   npm run bench:station [-- --rounds 3] [-- --memory]

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openAtClient } from "../../src/at/index.js";
import { type CertificateAuthority, initCa, loadCa } from "../../src/ca/index.js";
import {
  type BoardConnection,
  Journal,
  loadRootCaBundle,
  parseDeviceIdPolicy,
  runStation,
} from "../../src/pipeline/index.js";
import { createMemoryTransportPair, openSerialTransport } from "../../src/serial/index.js";
import { SimModem, socatAvailable, startSimModemOnPty } from "../../src/sim/modem/index.js";

const KEYGEN_MS = 2000;
const BOARD_COUNTS = [1, 4, 16] as const;
const roundsArg = process.argv.indexOf("--rounds");
const ROUNDS = roundsArg === -1 ? 3 : Number(process.argv[roundsArg + 1]);

interface SimulatedBoards {
  connections: Map<string, BoardConnection>;
  close(): Promise<void>;
}

async function startBoards(count: number, pty: boolean): Promise<SimulatedBoards> {
  const connections = new Map<string, BoardConnection>();
  if (pty) {
    const sims = await Promise.all(
      Array.from({ length: count }, () => startSimModemOnPty({ keygenMs: KEYGEN_MS })),
    );
    for (const sim of sims) {
      connections.set(sim.path, {
        port: sim.path,
        open: async () => openAtClient(await openSerialTransport(sim.path)),
      });
    }
    return { connections, close: async () => void (await Promise.all(sims.map((s) => s.close()))) };
  }
  for (let i = 0; i < count; i++) {
    const modem = new SimModem({ keygenMs: KEYGEN_MS });
    const port = `memory:board-${i}`;
    connections.set(port, {
      port,
      open: async () => {
        const [host, device] = createMemoryTransportPair([port, `${port}:modem`]);
        modem.attach(device);
        return openAtClient(host);
      },
    });
  }
  return { connections, close: async () => {} };
}

async function main(): Promise<void> {
  const pty = !process.argv.includes("--memory") && (await socatAvailable());
  const dir = await mkdtemp(join(tmpdir(), "nrf-provision-bench-station-"));
  const passphrase = "bench-station";
  await initCa({ dir: join(dir, "ca"), passphrase, commonName: "bench CA" });
  const ca = await loadCa({ dir: join(dir, "ca"), passphrase });
  const rootCaPem = await loadRootCaBundle();
  console.log(
    `station bench: ${KEYGEN_MS} ms simulated KEYGEN, boards on ${pty ? "socat pseudo-terminals" : "in-memory links"}, median of ${ROUNDS} rounds`,
  );

  // One unmeasured round first, so JIT warm-up is not billed to the 1-board configuration.
  await measure(1, pty, ca, rootCaPem, join(dir, "journal-warm-up.jsonl"));

  const wall = new Map<number, number>();
  const cpuPerBoard = new Map<number, number>();
  let round = 0;
  for (const count of BOARD_COUNTS) {
    const walls: number[] = [];
    const cpus: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const run = await measure(count, pty, ca, rootCaPem, join(dir, `journal-${round++}.jsonl`));
      walls.push(run.wallMs);
      cpus.push(run.cpuMsPerBoard);
    }
    wall.set(count, median(walls));
    cpuPerBoard.set(count, median(cpus));
  }
  await ca.close();
  await rm(dir, { recursive: true, force: true });

  for (const count of BOARD_COUNTS) {
    console.log(
      `nrf-provision ${count} board${count === 1 ? "" : "s"}: ${wall.get(count)!.toFixed(0)} ms`,
    );
  }
  const baseline = wall.get(1)!;
  console.log(`baseline (1 board): ${baseline.toFixed(0)} ms`);
  console.log(
    `ratio: ${(wall.get(16)! / baseline).toFixed(2)} (16 boards / 1 board; target ≤ 1.25)`,
  );
  for (const count of BOARD_COUNTS) {
    console.log(`CPU per board (${count}): ${cpuPerBoard.get(count)!.toFixed(1)} ms`);
  }
  // CPU(n) ≈ fixed + n × perBoard: the 1- and 16-board runs separate the two.
  const total = (count: number) => cpuPerBoard.get(count)! * count;
  const perBoard = (total(16) - total(1)) / 15;
  console.log(
    `host overhead per board: ${perBoard.toFixed(1)} ms CPU (station + simulators; fixed per run ${(total(1) - perBoard).toFixed(1)} ms; target < 30 ms)`,
  );
  console.log(
    `wall time of 1 board beyond the ${KEYGEN_MS} ms KEYGEN: ${(baseline - KEYGEN_MS).toFixed(0)} ms (includes the AT client's input flush on open: it ends once the line is quiet for 30 ms, 100 ms at most)`,
  );
}

/** One station run over `count` fresh simulated boards: wall time and CPU time per board. */
async function measure(
  count: number,
  pty: boolean,
  ca: CertificateAuthority,
  rootCaPem: string,
  journalPath: string,
): Promise<{ wallMs: number; cpuMsPerBoard: number }> {
  const boards = await startBoards(count, pty);
  const journal = await Journal.open(journalPath);
  try {
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const summary = await runStation({
      listPorts: async () => [...boards.connections.keys()],
      connect: (port) => boards.connections.get(port)!,
      ca,
      journal,
      board: { deviceIdPolicy: parseDeviceIdPolicy("uuid"), rootCaPem },
      onboard: "none",
      concurrency: count,
      interrupted: new Promise(() => {}),
    });
    const wallMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    if (summary.succeeded !== count) {
      throw new Error(
        `${summary.failed} of ${count} boards failed: ${JSON.stringify(summary.failures)}`,
      );
    }
    return { wallMs, cpuMsPerBoard: (cpu.user + cpu.system) / 1000 / count };
  } finally {
    await journal.close();
    await boards.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

await main();
