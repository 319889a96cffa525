/**
 * Bulk onboarding of 10,000 devices into the simulated nRF Cloud over real HTTP on
 * 127.0.0.1: nrf-provision's OnboardDevices path (validated CSV, ≤ 1000-row requests
 * uploaded with bounded concurrency, all bulk operations waited for) against calling
 * OnboardDevice once per device, one after the other. Median of several rounds, each on a
 * fresh simulator; the baseline runs on a slice of the devices (it is slow) and is compared
 * as a rate. Peak RSS covers the whole process (client and simulator share it).
 *
 *   npm run bench:onboard   [-- --devices 10000 --baseline-devices 1000 --rounds 3]
 */
import { generateKeyPairSync } from "node:crypto";
import { parseArgs } from "node:util";
import { createCloudClient, type OnboardingRow } from "../../src/cloud/index.js";
import { createSimCertificateAuthority, startSimCloud } from "../../src/sim/cloud/index.js";

const { values } = parseArgs({
  options: {
    devices: { type: "string", default: "10000" },
    "baseline-devices": { type: "string", default: "1000" },
    rounds: { type: "string", default: "3" },
  },
});
const deviceCount = Number(values.devices);
const baselineCount = Math.min(deviceCount, Number(values["baseline-devices"]));
const rounds = Number(values.rounds);

// Certificates must differ (the simulator refuses a certificate already used by another
// device): one device key, distinct CN and serial per device, signed from a DER template.
const ca = await createSimCertificateAuthority({ commonName: "bench CA" });
const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const rows: OnboardingRow[] = Array.from({ length: deviceCount }, (_, i) => {
  const deviceId = `bench-${String(i).padStart(6, "0")}`;
  return {
    deviceId,
    certificate: ca.issue({ deviceId, publicKey }),
    supportedFirmwareTypes: ["APP", "MODEM"],
  };
});

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);

/** Devices per second for one path on a fresh simulator (bulk ops take 50 ms each). */
async function measure(
  count: number,
  onboard: (client: ReturnType<typeof createCloudClient>, rows: OnboardingRow[]) => Promise<void>,
): Promise<number> {
  const sim = await startSimCloud({ bulkDelayMs: 50 });
  const client = createCloudClient({
    baseUrl: sim.baseUrl,
    apiKey: sim.apiKey,
    uploadConcurrency: 4,
  });
  try {
    const started = performance.now();
    await onboard(client, rows.slice(0, count));
    const seconds = (performance.now() - started) / 1000;
    if (sim.devices.size !== count)
      throw new Error(`only ${sim.devices.size} of ${count} onboarded`);
    return count / seconds;
  } finally {
    await sim.close();
  }
}

const paths = [
  {
    label: "nrf-provision",
    count: deviceCount,
    run: async (client: ReturnType<typeof createCloudClient>, batch: OnboardingRow[]) => {
      const upload = await client.onboardDevices(batch);
      await client.waitForBulkUpload(upload, {
        pollIntervalMs: 20,
        maxPollIntervalMs: 200,
        throwOnFailure: true,
      });
    },
  },
  {
    label: "OnboardDevice (one by one)",
    count: baselineCount,
    run: async (client: ReturnType<typeof createCloudClient>, batch: OnboardingRow[]) => {
      for (const row of batch) await client.onboardDevice(row);
    },
  },
];

const rates = new Map<string, number[]>(paths.map((p) => [p.label, []]));
for (let round = 0; round < rounds; round += 1) {
  for (const path of paths) rates.get(path.label)?.push(await measure(path.count, path.run));
}
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const [own, baseline] = paths.map((p) => median(rates.get(p.label) ?? []));
console.log(
  `# devices onboarded per second, median of ${rounds} rounds (${deviceCount} devices; baseline ${baselineCount})`,
);
for (const path of paths) {
  console.log(`${path.label}: ${Math.round(median(rates.get(path.label) ?? []))}/s`);
}
console.log(`ratio: ${((own ?? 0) / (baseline ?? 1)).toFixed(2)}`);
console.log(`peak RSS: ${Math.round(peakRss / 1024 / 1024)} MB`);
