/**
 * Device JWT minting rate on one core: jose's SignJWT (the reference library) against
 * nrf-provision's cached signer, plus bare node:crypto as the ceiling. Median of several
 * rounds, baselines measured in the same run (these machines are noisy).
 *
 *   npm run bench:jwt   [-- --rounds 7 --ms 400]
 */
import { generateKeyPairSync, sign } from "node:crypto";
import { parseArgs } from "node:util";
import { importPKCS8, SignJWT } from "jose";
import { createDeviceJwtSigner } from "../../src/jwt/index.js";

const TARGET_PER_SECOND = 15_000;

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "7" }, ms: { type: "string", default: "400" } },
});
const rounds = Number(values.rounds);
const roundMs = Number(values.ms);

const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
// jose is fastest with a WebCrypto CryptoKey: give the baseline its best case.
const joseKey = await importPKCS8(
  privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
  "ES256",
);
const signer = createDeviceJwtSigner(privateKey);
const iat = Math.floor(Date.now() / 1000);

type Mint = (i: number) => unknown;

const paths: Array<{ label: string; mint: Mint }> = [
  {
    label: "jose SignJWT",
    mint: (i) =>
      new SignJWT({ jti: crypto.randomUUID() })
        .setProtectedHeader({ alg: "ES256", typ: "JWT" })
        .setSubject(`dev-${i}`)
        .setIssuedAt(iat)
        .setExpirationTime(iat + 300)
        .sign(joseKey),
  },
  { label: "nrf-provision", mint: (i) => signer.mint({ deviceId: `dev-${i}`, issuedAt: iat }) },
  {
    // The floor of any ES256 signer: one sign() per token, nothing else.
    label: "node:crypto sign",
    mint: (i) =>
      sign("sha256", Buffer.from(`header.payload-${i}`), {
        key: privateKey,
        dsaEncoding: "ieee-p1363",
      }),
  },
];

/**
 * Mints back to back (awaiting async signers one at a time) for ~roundMs and returns tokens
 * per CPU-second of this process (all its threads, so jose's WebCrypto work on the thread
 * pool counts) and per wall-clock second. CPU time is the "one core" rate and holds up when
 * other jobs share the machine; wall time is what a caller sees.
 */
async function measure(mint: Mint): Promise<{ cpu: number; wall: number }> {
  let count = 0;
  const startCpu = process.cpuUsage();
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < roundMs) {
    for (let i = 0; i < 100; i++) await mint(count++);
    elapsed = performance.now() - start;
  }
  const { user, system } = process.cpuUsage(startCpu);
  return { cpu: count / ((user + system) / 1e6), wall: (count / elapsed) * 1000 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

const samples = new Map(paths.map((p) => [p.label, { cpu: [] as number[], wall: [] as number[] }]));
for (const path of paths) await measure(path.mint); // warm-up: JIT, key caches
for (let round = 0; round < rounds; round++) {
  // Rotate the order so drift on a shared machine does not favour one path.
  for (let k = 0; k < paths.length; k++) {
    const path = paths[(round + k) % paths.length];
    if (!path) continue;
    const { cpu, wall } = await measure(path.mint);
    samples.get(path.label)?.cpu.push(cpu);
    samples.get(path.label)?.wall.push(wall);
  }
}

const rate = (label: string, clock: "cpu" | "wall") => median(samples.get(label)?.[clock] ?? []);
for (const { label } of paths) console.log(`${label}: ${Math.round(rate(label, "cpu"))}/s`);
const ours = rate("nrf-provision", "cpu");
console.log(`ratio: ${(ours / rate("jose SignJWT", "cpu")).toFixed(2)}`);
console.log(
  `wall clock: ${paths.map(({ label }) => `${label} ${Math.round(rate(label, "wall"))}/s`).join(", ")}`,
);
console.log(
  `target ${TARGET_PER_SECOND}/s per core: ${ours >= TARGET_PER_SECOND ? "met" : "NOT met"} (median of ${rounds} rounds of ${roundMs} ms, per CPU-second)`,
);
