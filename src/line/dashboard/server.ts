import { createHash, timingSafeEqual } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { LineError } from "../errors.js";
import type { LineStatus } from "../status.js";
import { DASHBOARD_ASSETS, dashboardPage, PAGE_TYPE } from "./page.js";
import { type DashboardMessage, SnapshotPoller } from "./snapshots.js";

export interface DashboardOptions {
  /** Where the line's status comes from (the store, or a test's changing picture). */
  readStatus: () => Promise<LineStatus>;
  /** How often `readStatus` is called; the page gets a new snapshot only when it changed. */
  pollIntervalMs: number;
  /** Default 127.0.0.1. Anything but a loopback address needs `token`. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Required of every request (page, assets, events) as `?token=` or `Authorization: Bearer`. */
  token?: string | undefined;
}

export interface Dashboard {
  /** The page's address, with the token when there is one. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "::1", "localhost"]);
/** A comment line now and then keeps proxies and browsers from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;

/**
 * Serves the read-only line dashboard: one page (HTML, JS, CSS) and a server-sent events
 * stream that carries the line's status each time it changes.
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? "127.0.0.1";
  checkDashboardExposure(host, options.token);
  const clients = new Set<ServerResponse>();
  const poller = new SnapshotPoller({
    readStatus: options.readStatus,
    pollIntervalMs: options.pollIntervalMs,
    onMessage: (message) => {
      for (const client of clients) sendEvent(client, message);
    },
  });
  await poller.start();
  const authorized = tokenCheck(options.token);
  const server = createServer((request, response) => {
    if (authorized(request)) route(request, response, { poller, clients, token: options.token });
    else refuse(response, 401, "missing or wrong token");
  });
  const keepalive = setInterval(() => {
    for (const client of clients) client.write(": keepalive\n\n");
  }, KEEPALIVE_MS);
  keepalive.unref();
  await listen(server, host, options.port ?? 8080).catch((error: unknown) => {
    poller.stop();
    clearInterval(keepalive);
    throw error;
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: pageUrl(host, port, options.token),
    port,
    close: async () => {
      poller.stop();
      clearInterval(keepalive);
      for (const client of clients) client.end();
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

/** Reachable from other machines only with a token: the page shows device IDs and IMEIs. */
export function checkDashboardExposure(host: string, token: string | undefined): void {
  if (LOOPBACK_HOSTS.has(host)) return;
  if (token === undefined || token === "") {
    throw new LineError(
      "ERR_LINE_DASHBOARD_TOKEN_REQUIRED",
      `The dashboard on --host ${host} would be open to the network: give --token T (every request must carry it), or leave out --host to serve on 127.0.0.1 only.`,
      { details: { host } },
    );
  }
}

/** Constant-time comparison of SHA-256 digests: neither the token nor its length leaks by timing. */
function tokenCheck(token: string | undefined): (request: IncomingMessage) => boolean {
  if (token === undefined || token === "") return () => true;
  const expected = createHash("sha256").update(token).digest();
  return (request) => {
    const given = presentedToken(request);
    if (given === undefined) return false;
    return timingSafeEqual(createHash("sha256").update(given).digest(), expected);
  };
}

function presentedToken(request: IncomingMessage): string | undefined {
  const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? "");
  if (bearer) return bearer[1];
  return new URL(request.url ?? "/", "http://dashboard").searchParams.get("token") ?? undefined;
}

function route(
  request: IncomingMessage,
  response: ServerResponse,
  state: { poller: SnapshotPoller; clients: Set<ServerResponse>; token: string | undefined },
): void {
  const path = new URL(request.url ?? "/", "http://dashboard").pathname;
  const asset = DASHBOARD_ASSETS[path];
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.setHeader("allow", "GET, HEAD");
    refuse(response, 405, "the dashboard is read-only");
  } else if (path === "/events") {
    openStream(response, state);
  } else if (path === "/status.json") {
    send(response, 200, "application/json", JSON.stringify(state.poller.latest ?? null));
  } else if (path === "/" || path === "/index.html") {
    send(response, 200, PAGE_TYPE, dashboardPage(state.token));
  } else if (asset !== undefined) {
    send(response, 200, asset.type, asset.body);
  } else {
    refuse(response, 404, "not found");
  }
}

function openStream(
  response: ServerResponse,
  state: { poller: SnapshotPoller; clients: Set<ServerResponse> },
): void {
  response.writeHead(200, {
    ...SECURITY_HEADERS,
    "content-type": "text/event-stream; charset=utf-8",
    connection: "keep-alive",
  });
  state.clients.add(response);
  response.on("close", () => state.clients.delete(response));
  const latest = state.poller.latest;
  if (latest !== undefined) sendEvent(response, latest);
}

function sendEvent(response: ServerResponse, message: DashboardMessage): void {
  const data = message.kind === "status" ? message.status : message;
  const event = message.kind === "status" ? "status" : "read-error";
  response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** The token travels in the page's URL: never sent on as a referrer, never cached. */
const SECURITY_HEADERS = {
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'",
};

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    "content-type": type,
    "content-length": Buffer.byteLength(body),
  });
  response.end(body);
}

function refuse(response: ServerResponse, status: number, message: string): void {
  send(response, status, "text/plain; charset=utf-8", `${message}\n`);
}

async function listen(server: Server, host: string, port: number): Promise<void> {
  server.listen(port, host);
  try {
    await once(server, "listening");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new LineError(
      "ERR_LINE_DASHBOARD_LISTEN",
      `The dashboard cannot listen on ${host}:${port} (${code ?? (error as Error).message})${code === "EADDRINUSE" ? "; another program uses that port: pick another with --port" : ""}.`,
      { cause: error, details: { host, port } },
    );
  }
}

function pageUrl(host: string, port: number, token: string | undefined): string {
  const shown = host.includes(":") ? `[${host}]` : host;
  const query = token === undefined || token === "" ? "" : `?token=${encodeURIComponent(token)}`;
  return `http://${shown}:${port}/${query}`;
}
