import { createPublicKey, type KeyObject, randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { splitCsvRecords } from "../../provisioning/token-csv.js";
import { deviceRoutes } from "./device-routes.js";
import { type CommandMapping, defaultCommandMapping } from "./mapping.js";
import { ownerRoutes } from "./owner-routes.js";
import type {
  CloudAccessKeyEvent,
  Route,
  RouteContext,
  SimProvisioningConfig,
  SimProvisioningFaults,
  SimReply,
} from "./routing.js";
import { ProvisioningState } from "./state.js";

export interface SimProvisioningOptions {
  port?: number;
  host?: string;
  /** The team API key the owner endpoints accept (default: random). */
  apiKey?: string | undefined;
  now?: () => number;
  /** The team ID claimed devices get as `ownerId`. */
  ownerId?: string;
  /** At most this many open commands per device (default 20, the documented limit). */
  maxCommandsPerDevice?: number;
  /** REST command → device commands; the default is reference §3.7's (inferred) mapping. */
  commandMapping?: CommandMapping;
  /** How several tags share a bulk claim's tags field (default `,`). */
  bulkTagSeparator?: string;
  /** Accept the older clients' `Bearer att.<token>` as well as a JWT (default true). */
  acceptAttestationTokenAuth?: boolean;
  faults?: Partial<SimProvisioningFaults>;
  /**
   * `cloudAccessKeyGeneration` succeeded: register the public key with nRF Cloud (e.g. the
   * simulated nRF Cloud's device registry). A throw fails the command.
   */
  onCloudAccessKey?: ((event: CloudAccessKeyEvent) => void | Promise<void>) | undefined;
}

export interface SimProvisioning {
  /** The owner API's base URL, `http://127.0.0.1:<port>/v1`; the device endpoints share it. */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly state: ProvisioningState;
  /** Switch faults at run time. */
  readonly faults: SimProvisioningFaults;
  readonly stats: { requests: number; injected500: number };
  /** The test hook standing in for Nordic's identity database: a device and its identity public key. */
  registerIdentity(identity: {
    deviceUuid: string;
    identityPublicKey: KeyObject | string;
    imei?: string | undefined;
  }): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Starts a simulated nRF Cloud Provisioning Service on 127.0.0.1 (a real HTTP server). */
export async function startSimProvisioning(
  options: SimProvisioningOptions = {},
): Promise<SimProvisioning> {
  const state = new ProvisioningState(options.now ?? Date.now);
  const apiKey = options.apiKey ?? randomBytes(20).toString("hex");
  const { faults, config } = settingsFrom(options);
  const mapping = options.commandMapping ?? defaultCommandMapping;
  const stats = { requests: 0, injected500: 0 };
  const registerIdentity: SimProvisioning["registerIdentity"] = (identity) => {
    const uuid = identity.deviceUuid.toLowerCase();
    state.identities.set(uuid, {
      deviceUuid: uuid,
      publicKey: createPublicKey(identity.identityPublicKey),
      imei: identity.imei,
    });
  };
  const context = (request: IncomingMessage, url: URL, body: Buffer): RouteContext => ({
    request,
    url,
    body,
    state,
    faults,
    config,
    csvRecords: (text) => splitCsvRecords(text, "request body").map((record) => record.fields),
    addCommand: (deviceUuid, input) => {
      const probe = mapping(input.type, input.fields, "probe");
      if (probe === undefined) return undefined;
      return state.addCommand(
        deviceUuid,
        input,
        (main) => mapping(input.type, input.fields, main) ?? [],
      );
    },
    cloudAccessKey: async (event) => {
      await options.onCloudAccessKey?.(event);
    },
  });
  const routes: Route[] = [...ownerRoutes, ...deviceRoutes, identityHook(registerIdentity)];
  const server = createServer((request, response) => {
    stats.requests += 1;
    handle(request, response, { routes, apiKey, faults, stats, context }).catch(
      (error: unknown) => {
        send(response, {
          status: 500,
          json: { message: `simulator error: ${(error as Error).message}` },
        });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    baseUrl: `http://${host}:${address.port}/v1`,
    apiKey,
    state,
    faults,
    stats,
    registerIdentity,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function settingsFrom(options: SimProvisioningOptions): {
  faults: SimProvisioningFaults;
  config: SimProvisioningConfig;
} {
  return {
    faults: {
      unclaimedStatus: 403,
      fail500: 0,
      latencyMs: 0,
      legacyCsrField: false,
      bulkAnswer: "claimed-ids",
      ignoreLimit: false,
      ...options.faults,
    },
    config: {
      ownerId: options.ownerId ?? randomUUID(),
      maxCommandsPerDevice: options.maxCommandsPerDevice ?? 20,
      bulkTagSeparator: options.bulkTagSeparator ?? ",",
      acceptAttestationTokenAuth: options.acceptAttestationTokenAuth ?? true,
    },
  };
}

/** `POST /v1/sim/identities {deviceUuid, identityPublicKeyPem, imei?}`: registerIdentity over HTTP, for child-process simulators. */
function identityHook(register: SimProvisioning["registerIdentity"]): Route {
  return {
    method: "POST",
    path: /^\/v1\/sim\/identities$/,
    handle: (ctx) => {
      try {
        const body = JSON.parse(ctx.body.toString("utf8")) as Record<string, unknown>;
        const { deviceUuid, identityPublicKeyPem, imei } = body;
        if (typeof deviceUuid !== "string" || typeof identityPublicKeyPem !== "string")
          throw new Error("deviceUuid and identityPublicKeyPem are required");
        register({
          deviceUuid,
          identityPublicKey: identityPublicKeyPem,
          imei: typeof imei === "string" ? imei : undefined,
        });
        return { status: 204 };
      } catch (error) {
        return { status: 400, json: { message: (error as Error).message } };
      }
    },
  };
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  server: {
    routes: Route[];
    apiKey: string;
    faults: SimProvisioningFaults;
    stats: { injected500: number };
    context: (request: IncomingMessage, url: URL, body: Buffer) => RouteContext;
  },
): Promise<void> {
  const body = await readBody(request);
  if (server.faults.latencyMs > 0)
    await new Promise((resolve) => setTimeout(resolve, server.faults.latencyMs));
  if (server.faults.fail500 > 0) {
    server.faults.fail500 -= 1;
    server.stats.injected500 += 1;
    return send(response, { status: 500, json: { message: "Internal Server Error (simulated)" } });
  }
  if (body === null) return send(response, { status: 413, json: { message: "Body too large" } });
  const url = new URL(request.url ?? "/", "http://localhost");
  for (const route of server.routes) {
    const match = route.path.exec(url.pathname);
    if (!match || route.method !== request.method) continue;
    if (!route.device && request.headers.authorization !== `Bearer ${server.apiKey}`) {
      return send(response, {
        status: 401,
        json: { message: "Unauthorized: a valid API key is required" },
      });
    }
    const reply = await route.handle(server.context(request, url, body), [
      match[1] ?? "",
      match[2] ?? "",
    ]);
    return send(response, reply);
  }
  send(response, { status: 404, json: { message: `No route ${request.method} ${url.pathname}` } });
}

async function readBody(request: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request) {
    total += (chunk as Buffer).length;
    if (total > MAX_BODY_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(response: ServerResponse, reply: SimReply): void {
  if ("cbor" in reply) {
    response.writeHead(reply.status, {
      "content-type": "application/cbor",
      "content-length": reply.cbor.length,
    });
    response.end(reply.cbor);
    return;
  }
  if (reply.json === undefined) {
    response.writeHead(reply.status);
    response.end();
    return;
  }
  const text = JSON.stringify(reply.json);
  response.writeHead(reply.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}
