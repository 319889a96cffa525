import { describe, expect, it } from "vitest";
import { BulkOpsError, createCloudClient } from "../../src/cloud/index.js";
import { clientFor, fastWait, onboardingRows, useSimCloud } from "./helpers.js";

describe("bulk onboarding", () => {
  const startSim = useSimCloud();

  it("onboards 2,500 devices in 3 requests; the one bad row is reported by device ID and resubmitting it succeeds", async () => {
    const badDevice = "bulk-01234";
    let failOnce = true;
    const sim = await startSim({
      // The bad row fails the first time only, like a row fixed before resubmission.
      failRows: ({ deviceId }) => deviceId === badDevice && failOnce,
    });
    const client = clientFor(sim, { uploadConcurrency: 2 });
    const rows = await onboardingRows(2500, "bulk");
    const upload = await client.onboardDevices(rows);
    expect(upload.chunks.map((c) => [c.firstInputRow, c.deviceIds.length])).toEqual([
      [0, 1000],
      [1000, 1000],
      [2000, 500],
    ]);
    const result = await client.waitForBulkUpload(upload, fastWait);
    expect(result.results.map((r) => r.status)).toEqual(["SUCCEEDED", "FAILED", "SUCCEEDED"]);
    expect(result.failures).toEqual([
      {
        bulkOpsRequestId: upload.chunks[1]?.bulkOpsRequestId,
        row: 234,
        inputRow: 1234,
        deviceId: badDevice,
        message: "Simulated failure of this row (failRows)",
      },
    ]);
    expect(sim.devices.size).toBe(2499);

    failOnce = false;
    const retry = await client.onboardDevices(result.failures.map((f) => rows[f.inputRow ?? -1]!));
    expect(retry.chunks[0]?.deviceIds).toEqual([badDevice]);
    const retried = await client.waitForBulkUpload(retry, { ...fastWait, throwOnFailure: true });
    expect(retried.status).toBe("SUCCEEDED");
    expect(sim.devices.size).toBe(2500);
  });

  it("reports duplicate certificates and changed attributes with the real service's messages", async () => {
    const sim = await startSim();
    const client = clientFor(sim);
    const [a, b, c] = await onboardingRows(3, "dup");
    if (!a || !b || !c) throw new Error("rows");
    await client.waitForBulkUpload(await client.onboardDevices([a, b]), fastWait);
    const result = await client.waitForBulkUpload(
      await client.onboardDevices([
        c,
        { deviceId: "dup-new", certificate: a.certificate },
        { ...b, subType: "changed" },
      ]),
      fastWait,
    );
    expect(result.failures.map((f) => [f.row, f.deviceId, f.message])).toEqual([
      [
        1,
        "dup-new",
        "The device certificate is already registered and attached to a different device.",
      ],
      [2, b.deviceId, `Thing ${b.deviceId} already exists in account with different attributes`],
    ]);
  });

  it("maps the old 1-based error summary format to the same devices", async () => {
    const sim = await startSim({
      errorSummaryFormat: "legacy",
      failRows: new Set(["old-00000", "old-00003"]),
    });
    const client = clientFor(sim);
    const result = await client.waitForBulkUpload(
      await client.onboardDevices(await onboardingRows(4, "old")),
      fastWait,
    );
    expect(result.failures.map((f) => [f.row, f.deviceId])).toEqual([
      [0, "old-00000"],
      [3, "old-00003"],
    ]);
    const summary = await fetch(result.results[0]?.details.errorSummaryUrl ?? "");
    expect(await summary.text()).toContain("(1-based)]: ");
  });

  it("fetches the error summary without the Authorization header", async () => {
    const sim = await startSim({ failRows: new Set(["auth-00001"]) });
    const seen: Array<{ url: string; auth: string | null }> = [];
    const spy: typeof fetch = (input, init) => {
      seen.push({ url: String(input), auth: new Headers(init?.headers).get("authorization") });
      return fetch(input, init);
    };
    const client = clientFor(sim, { fetch: spy });
    const result = await client.waitForBulkUpload(
      await client.onboardDevices(await onboardingRows(2, "auth")),
      fastWait,
    );
    expect(result.failures.map((f) => f.deviceId)).toEqual(["auth-00001"]);
    const summaryCall = seen.find((s) => s.url.endsWith(".json"));
    expect(summaryCall?.auth).toBeNull();
    expect(
      seen.filter((s) => s.url.includes("/v1/")).every((s) => s.auth === `Bearer ${sim.apiKey}`),
    ).toBe(true);
  });

  it("marks every row unknown when the summary cannot be parsed, keeping the raw text", async () => {
    const sim = await startSim({ failRows: new Set(["raw-00000"]) });
    const real = clientFor(sim);
    const upload = await real.onboardDevices(await onboardingRows(2, "raw"));
    const garbling: typeof fetch = async (input, init) =>
      String(input).endsWith(".json")
        ? new Response("<html>gateway timeout</html>")
        : fetch(input, init);
    const client = createCloudClient({ baseUrl: sim.baseUrl, apiKey: sim.apiKey, fetch: garbling });
    const result = await client.waitForBulkUpload(upload, fastWait);
    expect(result.failures.map((f) => [f.deviceId, f.message])).toEqual([
      ["raw-00000", "unknown (error summary unparseable)"],
      ["raw-00001", "unknown (error summary unparseable)"],
    ]);
    expect(result.results[0]?.rawErrorSummary).toBe("<html>gateway timeout</html>");
  });

  it("throws ERR_BULK_FAILED with the failed devices when asked, and ERR_BULK_TIMEOUT when the job outlasts the wait", async () => {
    const sim = await startSim({ failRows: new Set(["t-00001"]) });
    const client = clientFor(sim);
    const upload = await client.onboardDevices(await onboardingRows(2, "t"));
    const failed = await client
      .waitForBulkUpload(upload, { ...fastWait, throwOnFailure: true })
      .catch((e) => e);
    expect(failed).toBeInstanceOf(BulkOpsError);
    expect(failed.code).toBe("ERR_BULK_FAILED");
    expect(failed.message).toContain("t-00001");
    expect(failed.details.failures).toEqual([
      expect.objectContaining({ deviceId: "t-00001", row: 1 }),
    ]);

    const slow = await startSim({ bulkDelayMs: 60_000 });
    const slowClient = clientFor(slow);
    const pending = await slowClient.onboardDevices(await onboardingRows(1, "slow"));
    const timeout = await slowClient
      .waitForBulkOps(pending.chunks[0]?.bulkOpsRequestId ?? "", {
        pollIntervalMs: 5,
        timeoutMs: 40,
      })
      .catch((e) => e);
    expect(timeout).toMatchObject({ code: "ERR_BULK_TIMEOUT", details: { status: "PENDING" } });
  });
});

describe("bulk polling waits with the injected sleep", () => {
  const jobId = "01HZZZZZZZZZZZZZZZZZZZZZZZ";
  /** A server whose job is PENDING, then IN_PROGRESS, then SUCCEEDED. */
  function scriptedFetch(): typeof fetch {
    const statuses = ["PENDING", "IN_PROGRESS", "SUCCEEDED"];
    return (async () => {
      const status = statuses.shift() ?? "SUCCEEDED";
      const body = {
        bulkOpsRequestId: jobId,
        endpoint: "ONBOARD_DEVICES",
        status,
        requestedAt: "2026-01-01T00:00:00Z",
      };
      return new Response(JSON.stringify(body), { status: 200 });
    }) as typeof fetch;
  }

  it("sleeps through retry.sleep between polls (growing ×1.5), not a timer of its own", async () => {
    const slept: number[] = [];
    const client = createCloudClient({
      baseUrl: "http://127.0.0.1:9/v1",
      apiKey: "k",
      fetch: scriptedFetch(),
      retry: { sleep: async (ms) => void slept.push(ms) },
    });
    // A minute between polls: a real timer would outlast the test's timeout.
    const result = await client.waitForBulkOps(jobId, {
      pollIntervalMs: 60_000,
      maxPollIntervalMs: 600_000,
    });
    expect(result.status).toBe("SUCCEEDED");
    expect(slept).toEqual([60_000, 90_000]);
  });

  it("stops waiting when the signal aborts during the injected sleep", async () => {
    const controller = new AbortController();
    const client = createCloudClient({
      baseUrl: "http://127.0.0.1:9/v1",
      apiKey: "k",
      fetch: scriptedFetch(),
      // Never resolves by itself: only the abort ends the wait.
      retry: { sleep: () => new Promise<void>(() => controller.abort()) },
    });
    await expect(client.waitForBulkOps(jobId, { signal: controller.signal })).rejects.toMatchObject(
      { code: "ERR_BULK_WAIT_ABORTED" },
    );
  });
});
