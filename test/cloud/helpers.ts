import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { afterEach } from "vitest";
import {
  type CloudClientOptions,
  createCloudClient,
  type OnboardingRow,
} from "../../src/cloud/index.js";
import {
  createSimCertificateAuthority,
  type SimCertificateAuthority,
  type SimCloud,
  type SimCloudOptions,
  startSimCloud,
} from "../../src/sim/cloud/index.js";

/** Starts a simulator for one test and closes it afterwards. Bulk ops finish in ms. */
export function useSimCloud() {
  const started: SimCloud[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((sim) => sim.close()));
  });
  return async (options: SimCloudOptions = {}) => {
    const sim = await startSimCloud({ bulkDelayMs: 10, ...options });
    started.push(sim);
    return sim;
  };
}

/** A client for the simulator with fast polling and ms-scale retry backoff. */
export function clientFor(sim: SimCloud, options: CloudClientOptions = {}) {
  return createCloudClient({
    baseUrl: sim.baseUrl,
    apiKey: sim.apiKey,
    retry: { baseDelayMs: 1, maxDelayMs: 20 },
    ...options,
  });
}

export const fastWait = { pollIntervalMs: 5, maxPollIntervalMs: 20, timeoutMs: 20_000 };

let sharedCa: Promise<SimCertificateAuthority> | undefined;
/** One CA and one device key for the file: certificates differ by serial and CN. */
export function testCa(): Promise<SimCertificateAuthority> {
  sharedCa ??= createSimCertificateAuthority({ commonName: "nrf-provision test CA" });
  return sharedCa;
}
const sharedKey: KeyObject = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;

export async function onboardingRows(count: number, prefix = "dev"): Promise<OnboardingRow[]> {
  const ca = await testCa();
  return Array.from({ length: count }, (_, i) => {
    const deviceId = `${prefix}-${String(i).padStart(5, "0")}`;
    return { deviceId, certificate: ca.issue({ deviceId, publicKey: sharedKey }) };
  });
}
