// CLI start-up: each command run many times as a whole process (`node bin/nrf-provision.js …`,
// the built CLI, as a user runs it) beside bare `node -e 0`, in interleaved rounds so machine
// noise falls on all of them alike. Prints the median wall time of each, then its ratio to bare
// node and the target (issue 12). `ca issue` is measured twice: with an unencrypted CA key (the
// target: start-up and issuing) and with a passphrase (adds the key derivation, reported apart).
//   npm run build && npm run bench:startup [-- --runs 21]
import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openAtClient } from "../../src/at/index.js";
import { keygen, withOfflineMode } from "../../src/modem/index.js";
import { createMemoryTransportPair } from "../../src/serial/index.js";
import { SimModem, startSimModemOnPty } from "../../src/sim/index.js";
import { modemCsr } from "./modem-csr.js";

const runsFlag = process.argv.indexOf("--runs");
const RUNS = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 15;
const root = join(import.meta.dirname, "..", "..");
const bin = join(root, "bin", "nrf-provision.js");
const PASSPHRASE = "bench passphrase for the start-up benchmark";

interface Case {
  label: string;
  args: string[];
  /** Target ratio to bare node, or undefined when only reported. */
  target?: number;
}

const dir = await mkdtemp(join(tmpdir(), "nrf-bench-startup-"));
const modem = await startSimModemOnPty({ seed: "bench-startup", latencyMs: 0, keygenMs: 0 });
try {
  const env = { ...process.env, NRF_PROVISION_CA_PASSPHRASE: PASSPHRASE };
  const cli = (...args: string[]) => {
    const result = spawnSync(process.execPath, [bin, ...args], { cwd: dir, env, encoding: "utf8" });
    if (result.status !== 0) {
      throw new Error(`nrf-provision ${args.join(" ")} failed: ${result.stderr}`);
    }
    return result.stdout;
  };
  cli("jwt", "keygen", "--device", "bench-dev", "--out-dir", "keys");
  cli("ca", "init", "--dir", "ca-plain", "--insecure-no-passphrase");
  cli("ca", "init", "--dir", "ca");
  await writeFile(join(dir, "device.csr.pem"), modemCsr("nrf-352656100367872").pem);
  const keygenLine = await simulatedKeygenLine();

  const cases: Case[] = [
    { label: "node -e 0", args: [] },
    { label: "nrf-provision --version", args: ["--version"], target: 1.5 },
    { label: "nrf-provision --help", args: ["--help"], target: 1.5 },
    {
      label: "nrf-provision jwt mint",
      args: ["jwt", "mint", "--key", "keys/bench-dev.key.pem", "--device", "bench-dev"],
      target: 2.0,
    },
    { label: "nrf-provision parse keygen", args: ["parse", "keygen", keygenLine], target: 2.0 },
    {
      label: "nrf-provision ca issue --csr (key not encrypted)",
      args: [
        "ca",
        "issue",
        "--dir",
        "ca-plain",
        "--csr",
        "device.csr.pem",
        "--out",
        "d1.pem",
        "--force",
      ],
      target: 3.0,
    },
    {
      label: "nrf-provision ca issue --csr (passphrase)",
      args: ["ca", "issue", "--dir", "ca", "--csr", "device.csr.pem", "--out", "d2.pem", "--force"],
    },
    {
      label: "nrf-provision provision (simulated board, zero latency)",
      args: [
        "provision",
        "--port",
        modem.path,
        "--ca-dir",
        "ca-plain",
        "--onboard",
        "none",
        "--replace",
      ],
      target: 3.0,
    },
  ];
  const times = new Map<string, number[]>(cases.map((c) => [c.label, []]));
  for (let round = 0; round < RUNS; round++) {
    for (const c of cases) {
      const args = c.args.length === 0 ? ["-e", "0"] : [bin, ...c.args];
      // Not spawnSync: the simulated board is served by this process's event loop.
      const start = performance.now();
      await new Promise<void>((resolve, reject) =>
        execFile(process.execPath, args, { cwd: dir, env }, (error, _stdout, stderr) =>
          error ? reject(new Error(`${c.label} failed: ${stderr}`)) : resolve(),
        ),
      );
      times.get(c.label)!.push(performance.now() - start);
    }
  }
  const node = median(times.get("node -e 0")!);
  console.log(`runs: ${RUNS} each, interleaved; medians of wall time`);
  console.log(`node -e 0: ${node.toFixed(0)} ms`);
  for (const c of cases.slice(1)) {
    const ms = median(times.get(c.label)!);
    const ratio = ms / node;
    const verdict =
      c.target === undefined
        ? "(reported only)"
        : `(target ≤ ${c.target.toFixed(1)}: ${ratio <= c.target ? "met" : "NOT met"})`;
    console.log(`${c.label}: ${ms.toFixed(0)} ms`);
    console.log(`ratio: ${ratio.toFixed(2)} ${verdict}`);
  }
  const derivation =
    median(times.get("nrf-provision ca issue --csr (passphrase)")!) -
    median(times.get("nrf-provision ca issue --csr (key not encrypted)")!);
  console.log(
    `passphrase key derivation (difference of the two ca issue medians): ${derivation.toFixed(0)} ms`,
  );
} finally {
  await modem.close();
  await rm(dir, { recursive: true, force: true });
}

/** A `%KEYGEN: "…"` line from a simulated modem, as `parse keygen` gets it. */
async function simulatedKeygenLine(): Promise<string> {
  const [host, device] = createMemoryTransportPair();
  new SimModem({ seed: "bench-startup-keygen" }).attach(device);
  const at = await openAtClient(host, { mode: "at" });
  try {
    return (await withOfflineMode(at, () => keygen(at, { secTag: 42, content: "csr" }))).response;
  } finally {
    await at.close();
  }
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}
