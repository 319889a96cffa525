import { request } from "node:http";
import { Command } from "commander";
import { afterEach, describe, expect, it } from "vitest";
import { registerLineDashboard } from "../../../src/cli/commands/line-dashboard.js";
import type { CliContext } from "../../../src/cli/context.js";
import { exitCodeForErrorCode } from "../../../src/cli/exit-codes.js";
import { type Dashboard, startDashboard } from "../../../src/line/dashboard/index.js";
import { LineError } from "../../../src/line/errors.js";
import type { LineStatus } from "../../../src/line/status.js";
import { captureIo } from "../../cli/harness.js";
import { SimulatedLine } from "./simulated-line.js";

const TOKEN = "a-long-random-dashboard-token";

/** One GET (or other method) on the dashboard: status, headers and body. */
function get(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: options.headers },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        // An event stream never ends: the first chunk is all this helper needs of it.
        const streaming = String(res.headers["content-type"]).startsWith("text/event-stream");
        res.on("data", (chunk) => {
          body += chunk;
          if (streaming) {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
            req.destroy();
          }
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Reads server-sent events from /events until `enough` says stop; returns them parsed. */
async function readEvents(
  url: string,
  enough: (events: Array<{ event: string; data: unknown }>) => boolean,
  onOpen: () => void = () => {},
): Promise<Array<{ event: string; data: unknown }>> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  onOpen();
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("text/event-stream");
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: Array<{ event: string; data: unknown }> = [];
  let buffer = "";
  while (!enough(events)) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the event stream ended");
    buffer += value;
    let end = buffer.indexOf("\n\n");
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)?.[1];
      if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
      end = buffer.indexOf("\n\n");
    }
  }
  controller.abort();
  return events;
}

describe("line dashboard server", () => {
  const started: Dashboard[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((dashboard) => dashboard.close()));
  });
  async function start(options: Parameters<typeof startDashboard>[0]): Promise<Dashboard> {
    const dashboard = await startDashboard(options);
    started.push(dashboard);
    return dashboard;
  }

  it("refuses --host off loopback without a token, before listening", async () => {
    const line = new SimulatedLine({ boardsPerStation: 1 });
    const attempt = startDashboard({
      readStatus: line.readStatus,
      pollIntervalMs: 100,
      host: "0.0.0.0",
      port: 0,
    });
    await expect(attempt).rejects.toThrow(LineError);
    await expect(attempt).rejects.toMatchObject({ code: "ERR_LINE_DASHBOARD_TOKEN_REQUIRED" });
    expect(line.reads).toBe(0); // refused before the store was ever read
    expect(exitCodeForErrorCode("ERR_LINE_DASHBOARD_TOKEN_REQUIRED")).toBe(2);
  });

  it("with a token: the page, assets and events need it (401 otherwise); query or Bearer", async () => {
    const line = new SimulatedLine({ boardsPerStation: 2 });
    const dashboard = await start({
      readStatus: line.readStatus,
      pollIntervalMs: 100,
      host: "0.0.0.0",
      port: 0,
      token: TOKEN,
    });
    expect(dashboard.url).toBe(`http://0.0.0.0:${dashboard.port}/?token=${TOKEN}`);
    const { port } = dashboard;
    for (const path of ["/", "/app.js", "/app.css", "/events", "/status.json", "/nothing"]) {
      expect((await get(port, path)).status, path).toBe(401);
      expect((await get(port, `${path}?token=wrong`)).status, path).toBe(401);
      expect((await get(port, `${path}?token=${TOKEN}x`)).status, path).toBe(401);
      const bearerWrong = await get(port, path, { headers: { authorization: "Bearer wrong" } });
      expect(bearerWrong.status, path).toBe(401);
    }
    const page = await get(port, `/?token=${TOKEN}`);
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toContain("text/html");
    expect(page.headers["referrer-policy"]).toBe("no-referrer");
    // The page's own asset links carry the token, or the browser could not load them.
    expect(page.body).toContain(`app.js?token=${TOKEN}`);
    const events = await get(port, "/events", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(events.status).toBe(200);
    expect(events.body).toMatch(/^event: status\ndata: \{/);
    expect((await get(port, `/nothing?token=${TOKEN}`)).status).toBe(404);
  });

  it("is read-only: other methods get 405", async () => {
    const line = new SimulatedLine({ boardsPerStation: 1 });
    const dashboard = await start({ readStatus: line.readStatus, pollIntervalMs: 100, port: 0 });
    expect(dashboard.url).toBe(`http://127.0.0.1:${dashboard.port}/`);
    for (const method of ["POST", "PUT", "DELETE"]) {
      expect((await get(dashboard.port, "/", { method })).status).toBe(405);
    }
  });

  it("SSE delivers a snapshot on connect and each change after it; a new generatedAt alone is no change", async () => {
    let picture = 0;
    const statusOf = (n: number): LineStatus => ({
      generatedAt: new Date().toISOString(),
      stations: [],
      boards: [
        {
          deviceId: "dev-1",
          station: "S1",
          step: n < 3 ? "keygen" : "verify",
          state: "in-progress",
          updatedAt: "2026-12-02T06:00:00.000Z",
        },
      ],
      failures: [],
      line: { inProgress: 1, done: 0, failed: 0, ratePerMinute: 0 },
    });
    // Reads counted from the moment the stream is open: after five unchanged ones (each with a
    // new generatedAt), the picture changes once.
    let readsSinceOpen: number | undefined;
    const dashboard = await start({
      readStatus: async () => {
        if (readsSinceOpen !== undefined && ++readsSinceOpen >= 5) picture = 3;
        return statusOf(picture);
      },
      pollIntervalMs: 100,
      port: 0,
    });
    const events = readEvents(
      `http://127.0.0.1:${dashboard.port}/events`,
      (seen) => seen.length >= 2,
      () => {
        readsSinceOpen = 0;
      },
    );
    const seen = await events;
    expect(seen.map((event) => event.event)).toEqual(["status", "status"]);
    const steps = seen.map((event) => (event.data as LineStatus).boards[0]!.step);
    expect(steps).toEqual(["keygen", "verify"]);
  });

  it("a status that cannot be read is told to the page, and the dashboard keeps polling", async () => {
    let failing = true;
    const line = new SimulatedLine({ boardsPerStation: 1 });
    const dashboard = await start({
      readStatus: async () => {
        if (failing) throw new Error("connection to the store refused");
        return line.readStatus();
      },
      pollIntervalMs: 100,
      port: 0,
    });
    const seen = await readEvents(
      `http://127.0.0.1:${dashboard.port}/events`,
      (events) => events.length >= 2,
      () => {
        failing = false; // the stream opened with the error; the next read succeeds
      },
    );
    expect(seen[0]).toMatchObject({
      event: "read-error",
      data: { message: "connection to the store refused" },
    });
    expect(seen[1]!.event).toBe("status");
  });
});

describe("nrf-provision line dashboard (command)", () => {
  function lineProgram(env: NodeJS.ProcessEnv) {
    const { io, out } = captureIo({ env });
    const ctx = { io, exitCode: 0 } as unknown as CliContext;
    const program = new Command().exitOverride();
    registerLineDashboard(program.command("line"), ctx);
    return { program, out };
  }

  it("--host without --token is refused before the store is opened", async () => {
    const { program } = lineProgram({});
    const run = program.parseAsync(
      ["line", "dashboard", "--store", "postgres://nowhere.invalid/line", "--host", "0.0.0.0"],
      { from: "user" },
    );
    await expect(run).rejects.toMatchObject({ code: "ERR_LINE_DASHBOARD_TOKEN_REQUIRED" });
  });

  it("without --store or NRF_PROVISION_STORE: a usage error", async () => {
    const { program } = lineProgram({});
    const run = program.parseAsync(["line", "dashboard"], { from: "user" });
    await expect(run).rejects.toMatchObject({ code: "ERR_USAGE" });
  });
});
