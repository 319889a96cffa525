import { describe, expect, it } from "vitest";
import { CloudError, createCloudClient, parseRetryAfter } from "../../src/cloud/index.js";
import { clientFor, onboardingRows, useSimCloud } from "./helpers.js";

const recordingSleep = () => {
  const delays: number[] = [];
  return { delays, sleep: async (ms: number) => void delays.push(ms) };
};

describe("parseRetryAfter", () => {
  it("reads delta seconds and HTTP dates", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});

describe("retries against the simulator's fault knobs", () => {
  const startSim = useSimCloud();

  it("rides out a 429 storm within the timeout", async () => {
    const sim = await startSim({ rate429: 0.6, retryAfterSeconds: 0, seed: 7 });
    const client = clientFor(sim, { retry: { maxAttempts: 30, baseDelayMs: 1, maxDelayMs: 5 } });
    const upload = await client.onboardDevices(await onboardingRows(20));
    const result = await client.waitForBulkUpload(upload, { pollIntervalMs: 5, timeoutMs: 20_000 });
    expect(result.status).toBe("SUCCEEDED");
    expect(sim.stats.injected429).toBeGreaterThan(3);
    expect(sim.devices.size).toBe(20);
  });

  /** The client's delays after 429s whose Retry-After says `seconds`, in the given form. */
  async function retryAfterDelays(seconds: number, format: "seconds" | "http-date") {
    const sim = await startSim({
      rate429: 0.5,
      retryAfterSeconds: seconds,
      retryAfterFormat: format,
      seed: 3,
    });
    const { delays, sleep } = recordingSleep();
    const client = clientFor(sim, {
      retry: { maxAttempts: 50, baseDelayMs: 1, maxDelayMs: 60_000, sleep },
    });
    for (let i = 0; i < 5; i += 1) await client.listBulkOpsRequests();
    expect(sim.stats.injected429).toBeGreaterThan(0);
    expect(delays).toHaveLength(sim.stats.injected429);
    return delays;
  }

  it("honours Retry-After (seconds) instead of its own backoff", async () => {
    expect(new Set(await retryAfterDelays(2, "seconds"))).toEqual(new Set([2000]));
  });

  it("honours Retry-After given as an HTTP date", async () => {
    // An HTTP date has whole seconds: 3 s ahead, read a moment later, is between 2 and 3 s.
    for (const delay of await retryAfterDelays(3, "http-date")) {
      expect(delay).toBeGreaterThan(1000);
      expect(delay).toBeLessThanOrEqual(3000);
    }
  });

  it("retries 500s with exponential backoff and full jitter, then gives up with ERR_CLOUD_HTTP", async () => {
    const sim = await startSim({ rate500: 1 });
    const { delays, sleep } = recordingSleep();
    const client = clientFor(sim, {
      retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 250, random: () => 0.999, sleep },
    });
    await expect(client.listBulkOpsRequests()).rejects.toMatchObject({
      code: "ERR_CLOUD_HTTP",
      details: { status: 500, nrfErrorCode: 50010, attempts: 4 },
    });
    expect(sim.stats.requests).toBe(4);
    expect(delays.map(Math.round)).toEqual([100, 200, 250]);
  });

  it("does not retry a 400, 404 or 422", async () => {
    const sim = await startSim();
    const client = clientFor(sim, { retry: { maxAttempts: 5 } });
    const [row] = await onboardingRows(1, "no-retry");
    if (!row) throw new Error("no row");
    await client.onboardDevice(row);
    const sent = () => sim.stats.requests;
    const cases: Array<[() => Promise<unknown>, number, number]> = [
      [() => client.updateDeviceState({ deviceId: row.deviceId, state: [] as never }), 400, 40000],
      [() => client.fetchDevice({ deviceId: "unknown" }), 404, 40410],
      [
        () =>
          client.onboardDevice({
            deviceId: "nrf-1",
            certificate: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            subType: "a,b", // JSON allows the comma CSV cannot carry
          }),
        400,
        40000,
      ],
    ];
    for (const [call, status, nrfErrorCode] of cases) {
      const before = sent();
      await expect(call()).rejects.toMatchObject({
        code: "ERR_CLOUD_HTTP",
        details: { status, nrfErrorCode, attempts: 1 },
        message: expect.stringContaining("it was not retried"),
      });
      expect(sent() - before).toBe(1);
    }
  });

  it("maps an unreachable server to ERR_CLOUD_NETWORK after retrying", async () => {
    const sim = await startSim();
    const baseUrl = sim.baseUrl;
    await sim.close();
    const { delays, sleep } = recordingSleep();
    const client = createCloudClient({ baseUrl, apiKey: "k", retry: { maxAttempts: 3, sleep } });
    await expect(client.getBulkOpsRequest("01ARZ3NDEKTSV4RRFFQ69G5FAV")).rejects.toMatchObject({
      code: "ERR_CLOUD_NETWORK",
      details: { attempts: 3, method: "GET" },
    });
    expect(delays).toHaveLength(2);
  });

  it("times out a slow answer with ERR_CLOUD_TIMEOUT", async () => {
    const sim = await startSim({ latencyMs: 300 });
    await expect(clientFor(sim, { timeoutMs: 50 }).listBulkOpsRequests()).rejects.toMatchObject({
      code: "ERR_CLOUD_TIMEOUT",
      details: { timeoutMs: 50, path: "/v1/bulk-ops-requests" },
    });
  });

  it("refuses a response that does not match the schema with ERR_CLOUD_RESPONSE", async () => {
    const fakeFetch = (async () =>
      new Response(JSON.stringify({ bulkOpsRequestId: "not-a-ulid" }), {
        status: 202,
      })) as typeof fetch;
    const client = createCloudClient({
      baseUrl: "http://127.0.0.1:9/v1",
      apiKey: "k",
      fetch: fakeFetch,
    });
    await expect(client.onboardDevices(await onboardingRows(1))).rejects.toMatchObject({
      code: "ERR_CLOUD_RESPONSE",
      details: { method: "POST", path: "/v1/devices" },
    });
  });
});

describe("the API key stays secret", () => {
  const startSim = useSimCloud();
  const secret = "sk_SECRET-api-key-0123456789abcdef";

  it("never appears in errors, their details, causes or stacks", async () => {
    const sim = await startSim({ apiKey: "the-right-key" });
    const client = createCloudClient({
      baseUrl: sim.baseUrl,
      apiKey: secret,
      retry: { maxAttempts: 1 },
    });
    const failures: unknown[] = [];
    for (const call of [
      () => client.listBulkOpsRequests(),
      () => client.fetchDevice({ deviceId: "d" }),
      () => client.deleteDevice({ deviceId: "d" }),
      () => client.associateDevice({ deviceId: "d", ownershipCode: "c" }),
    ]) {
      failures.push(await call().catch((error: unknown) => error));
    }
    const closed = await startSim();
    await closed.close();
    failures.push(
      await createCloudClient({
        baseUrl: closed.baseUrl,
        apiKey: secret,
        retry: { maxAttempts: 1 },
      })
        .listBulkOpsRequests()
        .catch((error: unknown) => error),
    );
    for (const error of failures as CloudError[]) {
      expect(error).toBeInstanceOf(CloudError);
      expect(error.code).toMatch(/^ERR_CLOUD_(AUTH|NETWORK)$/);
      const everything = `${error.message} ${JSON.stringify(error.toJSON())} ${String(error.stack)} ${String((error.cause as Error | undefined)?.message)}`;
      expect(everything).not.toContain(secret);
    }
  });
});
