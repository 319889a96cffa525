/**
 * AT round trips per second and the host time of a modem provisioning sequence, against the
 * simulated nRF91 with zero latency, so what is measured is nrf-provision's own overhead
 * (framing, queue, line attribution, parsing, checks) plus the in-process simulator's work.
 *
 * Baselines, measured in the same run on the same kind of link and simulator, with rounds
 * interleaved (A B A B …) so machine noise hits both alike:
 * - in memory: a raw write → wait-for-final-line loop on the transport, no AT client;
 * - pseudo-terminal: serialport's own `ReadlineParser` request/response loop on the same PTY;
 * - sequence: the same twelve commands sent raw, each waiting only for its final line, with
 *   no parsing, attestation checks or verification (what a bare script does).
 * Times are wall-clock medians; the sequence also reports the process CPU time per run
 * (sturdier than wall time on a loaded machine; it includes the simulator's crypto).
 *
 *   npm run bench:at   [-- --rounds 7]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ReadlineParser, SerialPort } from "serialport";
import { type AtClient, openAtClient } from "../../src/at/index.js";
import {
  checkFirmwareSupportsKeygen,
  keygen,
  readIdentity,
  withOfflineMode,
  writeCredential,
} from "../../src/modem/index.js";
import {
  type ByteTransport,
  createMemoryTransportPair,
  openSerialTransport,
} from "../../src/serial/index.js";
import { SimModem, startSimModemOnPty } from "../../src/sim/modem/index.js";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "7" } } });
const rounds = Number(values.rounds);
const TARGET_SEQUENCE_MS = 20;
const SEC_TAG = 16842753;
const rootCa = readFileSync(new URL("../../assets/AmazonRootCA1.pem", import.meta.url), "utf8");

interface Sample {
  wallMs: number;
  cpuMs: number;
}

const median = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/** Runs `count` sequential calls of each path per round, paths interleaved; one warm-up round. */
async function measure(
  count: number,
  paths: Array<() => Promise<unknown>>,
): Promise<Array<{ wallMs: number; cpuMs: number }>> {
  const samples: Sample[][] = paths.map(() => []);
  for (let round = -1; round < rounds; round++) {
    for (const [index, once] of paths.entries()) {
      const cpu = process.cpuUsage();
      const start = performance.now();
      for (let i = 0; i < count; i++) await once();
      const wallMs = (performance.now() - start) / count;
      const used = process.cpuUsage(cpu);
      if (round >= 0)
        samples[index]!.push({ wallMs, cpuMs: (used.user + used.system) / 1000 / count });
    }
  }
  return samples.map((s) => ({
    wallMs: median(s.map((x) => x.wallMs)),
    cpuMs: median(s.map((x) => x.cpuMs)),
  }));
}

/** Sends lines on a transport and resolves each at its final result line; nothing else. */
function rawSender(transport: ByteTransport): (command: string) => Promise<void> {
  let buffered = "";
  let waiting: (() => void) | undefined;
  transport.onData((chunk) => {
    buffered += Buffer.from(chunk).toString("latin1");
    let end = buffered.indexOf("\r\n");
    while (end >= 0) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (line === "OK" || line === "ERROR" || line.startsWith("+CME ERROR")) waiting?.();
      end = buffered.indexOf("\r\n");
    }
  });
  return (command) =>
    new Promise<void>((resolve, reject) => {
      waiting = resolve;
      transport.write(`${command}\r\n`).catch(reject);
    });
}

/** Identity, then offline: keygen and two verified credential writes; mode restored. */
async function provisionSequence(at: AtClient): Promise<void> {
  const identity = await readIdentity(at);
  checkFirmwareSupportsKeygen(identity.firmware);
  await withOfflineMode(at, async () => {
    await keygen(at, { secTag: SEC_TAG, content: "csr" });
    for (const type of [0, 1]) {
      await writeCredential(at, {
        secTag: SEC_TAG,
        type,
        content: rootCa,
        firmware: identity.firmware,
      });
    }
  });
}

/** The same commands without the client, parsing or checks. */
async function rawSequence(send: (command: string) => Promise<void>): Promise<void> {
  const quoted = `"${rootCa}"`;
  for (const command of [
    "AT+CGSN",
    "AT+CGMM",
    "AT+CGMR",
    "AT%ATTESTTOKEN",
    "AT+CFUN?",
    "AT+CFUN=4",
    `AT%KEYGEN=${SEC_TAG},2,0`,
    `AT%CMNG=0,${SEC_TAG},0,${quoted}`,
    `AT%CMNG=1,${SEC_TAG},0`,
    `AT%CMNG=0,${SEC_TAG},1,${quoted}`,
    `AT%CMNG=1,${SEC_TAG},1`,
    "AT+CFUN=1",
  ]) {
    await send(command);
  }
}

function memoryLink(seed: string): ByteTransport {
  const [host, device] = createMemoryTransportPair();
  new SimModem({ seed }).attach(device);
  return host;
}

async function openSerialPortBaseline(path: string) {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  const parser = port.pipe(new ReadlineParser({ delimiter: "\r\n" }));
  let onOk: (() => void) | undefined;
  parser.on("data", (line: string) => {
    if (line === "OK") onOk?.();
  });
  return {
    roundTrip: () =>
      new Promise<void>((resolve) => {
        onOk = resolve;
        port.write("AT\r\n");
      }),
    close: () => new Promise<void>((resolve) => port.close(() => resolve())),
  };
}

const perSecond = (ms: number) => Math.round(1000 / ms);
const ms = (value: number) => value.toFixed(2);

console.log(`# rounds: ${rounds} (median), simulated nRF91 with zero latency`);
console.log("# ratio = nrf-provision rate / baseline rate (below 1: slower than the baseline)");

console.log("# AT round trips (AT → OK), in memory");
{
  const client = await openAtClient(memoryLink("bench-a"), { mode: "at" });
  const send = rawSender(memoryLink("bench-b"));
  const [ours, raw] = await measure(2000, [() => client.send("AT"), () => send("AT")]);
  await client.close();
  console.log(`nrf-provision: ${perSecond(ours!.wallMs)}/s`);
  console.log(`raw write/wait-for-OK loop: ${perSecond(raw!.wallMs)}/s`);
  console.log(`ratio: ${(raw!.wallMs / ours!.wallMs).toFixed(2)}`);
}

console.log("# AT round trips (AT → OK), socat pseudo-terminal, serialport");
{
  const simA = await startSimModemOnPty({ seed: "bench-a" });
  const simB = await startSimModemOnPty({ seed: "bench-b" });
  try {
    const client = await openAtClient(await openSerialTransport(simA.path, { rtscts: false }), {
      mode: "at",
    });
    const baseline = await openSerialPortBaseline(simB.path);
    const [ours, raw] = await measure(300, [() => client.send("AT"), baseline.roundTrip]);
    await client.close();
    await baseline.close();
    console.log(`nrf-provision: ${perSecond(ours!.wallMs)}/s`);
    console.log(`serialport ReadlineParser loop: ${perSecond(raw!.wallMs)}/s`);
    console.log(`ratio: ${(raw!.wallMs / ours!.wallMs).toFixed(2)}`);
  } finally {
    await simA.close();
    await simB.close();
  }
}

console.log("# identity + keygen + 2 verified credential writes (host time)");
{
  const client = await openAtClient(memoryLink("bench-a"), { mode: "at" });
  const send = rawSender(memoryLink("bench-b"));
  const [ours, raw] = await measure(5, [() => provisionSequence(client), () => rawSequence(send)]);
  await client.close();
  console.log(`nrf-provision (memory): ${ms(ours!.wallMs)} ms`);
  console.log(`nrf-provision (memory, process CPU): ${ms(ours!.cpuMs)} ms`);
  console.log(`raw commands, no client or checks (memory): ${ms(raw!.wallMs)} ms`);
  console.log(`ratio: ${(raw!.wallMs / ours!.wallMs).toFixed(2)}`);
  const verdict = ours!.wallMs < TARGET_SEQUENCE_MS ? "met" : "missed";
  console.log(`target < ${TARGET_SEQUENCE_MS} ms in memory: ${verdict}`);

  const sim = await startSimModemOnPty({ seed: "bench-pty" });
  try {
    const ptyClient = await openAtClient(await openSerialTransport(sim.path, { rtscts: false }), {
      mode: "at",
    });
    const [pty] = await measure(3, [() => provisionSequence(ptyClient)]);
    await ptyClient.close();
    console.log(`nrf-provision (pty): ${ms(pty!.wallMs)} ms`);
  } finally {
    await sim.close();
  }
}
