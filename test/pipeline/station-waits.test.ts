import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type PtyBoard, usePipelineBench } from "./fixtures.js";
import { readJournal, runCli, stationArgs, summaryOf } from "./station-child.js";

const batchStationArgs = (
  boards: PtyBoard[],
  caDir: string,
  journal: string,
  extra: string[] = [],
) =>
  stationArgs(
    boards,
    caDir,
    journal,
    "--device-id",
    "imei",
    "--onboard",
    "batch",
    "--jsonl",
    ...extra,
  );

/** Issue 11 scenario 6: bulk jobs that never end, and an OnboardDevices POST answered 5xx. */
describe("station waits for nRF Cloud: bounded, interruptible", () => {
  // Bulk jobs of this cloud stay PENDING/IN_PROGRESS for an hour.
  const bench = usePipelineBench({ cloud: { bulkDelayMs: 3_600_000 } });

  it("--wait-timeout leaves a job that never ends to the next run (exit 6); one SIGTERM ends the next run's wait with exit 130", async () => {
    const [board] = await bench.startBoards(1);
    const deviceId = `nrf-${board!.modem.imei}`;
    const journal = join(bench.dir, "never-ends.jsonl");

    const timedOut = await runCli(
      batchStationArgs([board!], bench.caDir, journal, ["--wait-timeout", "1"]),
      bench.env,
    );
    expect(timedOut.exitCode, timedOut.stderr).toBe(6);
    const summary = summaryOf(timedOut) as { failures: Array<Record<string, string>> };
    expect(summary.failures).toEqual([
      expect.objectContaining({ deviceId, step: "onboard", code: "ERR_BULK_TIMEOUT" }),
    ]);
    const records = await readJournal(journal);
    const submitted = records.filter((r) => r.type === "bulk-submitted");
    expect(submitted).toHaveLength(1);
    expect(records.some((r) => r.type === "onboard-failed" || r.type === "onboarded")).toBe(false);

    // The rerun waits for that job (default 600 s); one SIGTERM ends it.
    let signalled = false;
    const interrupted = await runCli(batchStationArgs([board!], bench.caDir, journal), bench.env, {
      onEvent: (event, child) => {
        if (event.type === "station-start" && !signalled) {
          signalled = true;
          setTimeout(() => child.kill("SIGTERM"), 500);
        }
      },
    });
    expect(interrupted.exitCode, interrupted.stderr).toBe(130);
    expect(summaryOf(interrupted)).toMatchObject({ interrupted: true });
    const after = await readJournal(journal);
    // Where things stand: the job is still the one submitted, nothing decided about it.
    expect(after.filter((r) => r.type === "bulk-submitted")).toEqual(submitted);
    expect(after.some((r) => r.type === "onboard-failed" || r.type === "onboarded")).toBe(false);
    expect(
      [...bench.cloud.bulkOps.values()].filter((op) => op.details.endpoint === "ONBOARD_DEVICES"),
    ).toHaveLength(1);
  }, 60_000);
});

describe("station upload answered 5xx after nRF Cloud took it", () => {
  const bench = usePipelineBench({ cloud: { bulkDelayMs: 100 } });
  let proxy: Server | undefined;
  afterAll(async () => {
    await new Promise((resolve) => proxy?.close(resolve) ?? resolve(undefined));
  });

  /** Forwards to the simulated cloud; the first OnboardDevices POST is carried out, then 502. */
  async function startFlakyGateway(): Promise<string> {
    const upstream = new URL(bench.cloud.baseUrl);
    let failed = false;
    proxy = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const headers: Record<string, string> = {};
      for (const name of ["authorization", "content-type", "accept"]) {
        const value = request.headers[name];
        if (typeof value === "string") headers[name] = value;
      }
      const answer = await fetch(new URL(request.url!, upstream.origin), {
        method: request.method!,
        headers,
        ...(request.method === "GET" ? {} : { body: Buffer.concat(chunks) }),
      });
      const body = Buffer.from(await answer.arrayBuffer());
      if (request.method === "POST" && request.url === "/v1/devices" && !failed) {
        failed = true;
        response.writeHead(502, { "content-type": "application/json" });
        response.end(JSON.stringify({ code: 50200, message: "Bad gateway" }));
        return;
      }
      response.writeHead(answer.status, {
        "content-type": answer.headers.get("content-type") ?? "application/json",
      });
      response.end(body);
    });
    await new Promise<void>((resolve) => proxy!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(proxy!.address() as AddressInfo).port}/v1`;
  }

  it("a delivered OnboardDevices POST is not sent again; the next run reconciles and finishes", async () => {
    const boards = await bench.startBoards(2);
    const journal = join(bench.dir, "gateway-502.jsonl");
    const env = { ...bench.env, NRF_CLOUD_BASE_URL: await startFlakyGateway() };
    const onboardJobs = () =>
      [...bench.cloud.bulkOps.values()].filter((op) => op.details.endpoint === "ONBOARD_DEVICES");

    const first = await runCli(batchStationArgs(boards, bench.caDir, journal), env);
    expect(first.exitCode, first.stderr).toBe(6);
    expect(onboardJobs()).toHaveLength(1); // no duplicate job from a retry
    const summary = summaryOf(first) as { failures: Array<Record<string, string>> };
    expect(summary.failures).toHaveLength(2);
    expect(summary.failures[0]!.message).toContain("may have carried it out");

    const second = await runCli(batchStationArgs(boards, bench.caDir, journal), env);
    expect(second.exitCode, second.stderr + second.stdout).toBe(0);
    for (const board of boards) {
      const onModem = board.modem.credentials().find((c) => c.type === 1)!.content;
      expect(bench.cloud.devices.get(`nrf-${board.modem.imei}`)?.onboardingPem).toBe(onModem);
    }
  }, 60_000);
});
