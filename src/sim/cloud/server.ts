import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  errorAnswer,
  type Route,
  readBody,
  routeRequest,
  SimHttpError,
  writeAnswer,
} from "./http.js";
import type { DeviceRegistry, SimDevice } from "./registry.js";
import { advanceBulkOps, bulkOpsRoutes, bulkUploadRoutes } from "./routes/bulk.js";
import { associationRoutes, deviceRoutes } from "./routes/devices.js";
import { stateRoutes } from "./routes/state.js";
import {
  createSimCloudStore,
  type SimBulkOp,
  type SimCloudOptions,
  type SimCloudStore,
} from "./store.js";

export type { SimBulkOp, SimCloudOptions };

export interface SimCloud {
  /** e.g. `http://127.0.0.1:43567/v1` */
  baseUrl: string;
  apiKey: string;
  registry: DeviceRegistry;
  devices: Map<string, SimDevice>;
  bulkOps: Map<string, SimBulkOp>;
  ownershipCodes: Map<string, string>;
  /** PEM of the CA that signs CreateDeviceCertificate results. */
  jitpCaCertificatePem(): Promise<string>;
  /**
   * Moves every unfinished bulk operation one step on (PENDING → IN_PROGRESS → SUCCEEDED or
   * FAILED) and returns how many moved. For `bulkProgress: "manual"`; harmless otherwise.
   */
  advanceBulkOps(): number;
  /** Requests received, and faults injected. */
  stats: { requests: number; injected429: number; injected500: number };
  close(): Promise<void>;
}

/**
 * Starts a simulated nRF Cloud REST API on a real HTTP server: the IPDevices endpoints,
 * FetchDevice/DeleteDevice, bulk operations with error summaries, device JWT auth, and
 * fault injection (latency, 429, 500, failing rows). Each endpoint family is a route module
 * (routes/) over one shared store.
 */
export async function startSimCloud(options: SimCloudOptions = {}): Promise<SimCloud> {
  const store = createSimCloudStore(options);
  // Bulk uploads first: POST /v1/devices/certificates also matches OnboardDevice's pattern.
  const routes: Route[] = [
    ...associationRoutes(store),
    ...bulkUploadRoutes(store),
    ...deviceRoutes(store),
    ...stateRoutes(store),
    ...bulkOpsRoutes(store),
  ];
  const server = createServer((request, response) => {
    handle(store, routes, request, response).catch((error: unknown) => {
      response.destroy(error as Error);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  store.origin = `http://${host}:${address.port}`;

  return {
    baseUrl: `${store.origin}/v1`,
    apiKey: store.apiKey,
    registry: store.registry,
    devices: store.registry.devices,
    bulkOps: store.bulkOps,
    ownershipCodes: store.ownershipCodes,
    jitpCaCertificatePem: async () => (await store.jitpCa()).certificatePem,
    advanceBulkOps: () => advanceBulkOps(store),
    stats: store.stats,
    async close() {
      store.clearTimers();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

async function handle(
  store: SimCloudStore,
  routes: readonly Route[],
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  store.stats.requests += 1;
  const url = new URL(request.url ?? "/", store.origin);
  const { latencyMs } = store.options;
  if (latencyMs) await new Promise((resolve) => setTimeout(resolve, latencyMs));
  let answer: Awaited<ReturnType<typeof routeRequest>>;
  try {
    const body = await readBody(request);
    injectFaults(store);
    answer = await routeRequest(routes, request, url, body);
  } catch (error) {
    answer = errorAnswer(error, response);
  }
  writeAnswer(response, answer);
}

/** The configured share of 429s (with Retry-After) and 500s, drawn from the seeded random. */
function injectFaults(store: SimCloudStore): void {
  const { options, stats } = store;
  if (options.rate429 && store.random() < options.rate429) {
    stats.injected429 += 1;
    const seconds = options.retryAfterSeconds ?? 1;
    throw new SimHttpError(429, 42900, "Too many requests (simulated)", {
      "retry-after":
        options.retryAfterFormat === "http-date"
          ? new Date(Date.now() + seconds * 1000).toUTCString()
          : String(seconds),
    });
  }
  if (options.rate500 && store.random() < options.rate500) {
    stats.injected500 += 1;
    throw new SimHttpError(500, 50010, "Internal server error (simulated)");
  }
}
