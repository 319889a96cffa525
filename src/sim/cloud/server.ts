import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeProtectedHeader, jwtVerify } from "jose";
import {
  formatErrorSummary,
  formatLegacyErrorSummary,
  type SummaryRowError,
} from "../../cloud/index.js";
import {
  createSimCertificateAuthority,
  issueKeyPair,
  type SimCertificateAuthority,
} from "./certificates.js";
import { seededRandom, ulid } from "./random.js";
import { DeviceRegistry, type SimDevice } from "./registry.js";
import {
  type BulkEndpoint,
  CsvValidationError,
  isCertificatePem,
  isPublicKeyPem,
  isValidDeviceId,
  isValidSubType,
  isValidTag,
  type UploadedRow,
  validateUpload,
} from "./validate.js";

export interface SimCloudOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Team API key the server accepts (default: random, see `apiKey` on the handle). */
  apiKey?: string;
  /** Time from upload to the end of a bulk operation (default 1000 ms; half of it PENDING). */
  bulkDelayMs?: number;
  /**
   * `timed` (default): bulk operations move on by themselves after `bulkDelayMs`. `manual`: they
   * stay where they are until `advanceBulkOps()` is called, so a test sees every state it expects
   * however slow or fast the machine is.
   */
  bulkProgress?: "timed" | "manual";
  /** Added to every response. */
  latencyMs?: number;
  /** Probability (0…1) of answering 429 with `Retry-After: retryAfterSeconds`. */
  rate429?: number;
  retryAfterSeconds?: number;
  /** How Retry-After says it (RFC 9110 allows both): delta seconds (default) or an HTTP date. */
  retryAfterFormat?: "seconds" | "http-date";
  /** Probability (0…1) of answering 500. */
  rate500?: number;
  /** Bulk rows that fail: device IDs, or a predicate. */
  failRows?:
    | ReadonlySet<string>
    | ((row: { deviceId: string; row: number; endpoint: BulkEndpoint }) => boolean);
  /** Error summaries in the current (default) or the pre-2025-12 1-based format. */
  errorSummaryFormat?: "current" | "legacy";
  /** Ownership codes of Nordic devices (AssociateDevice, CreateDeviceCertificate for `nrf-…`). */
  ownershipCodes?: Record<string, string>;
  /** Seed of fault injection and IDs (default 1). */
  seed?: number | string;
  /** Tolerated device clock skew for JWT `iat`/`exp` (default 60 s). */
  jwtClockToleranceSeconds?: number;
  now?: () => number;
}

export interface SimBulkOp {
  details: {
    bulkOpsRequestId: string;
    endpoint: BulkEndpoint;
    status: "PENDING" | "IN_PROGRESS" | "SUCCEEDED" | "FAILED";
    requestedAt: string;
    completedAt?: string;
    uploadedDataUrl: string;
    errorSummaryUrl?: string;
  };
  body: string;
  errors: SummaryRowError[];
}

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

const CSV_CONTENT_TYPES = new Set([
  "text/csv",
  "text/plain",
  "text/plain;charset=utf8",
  "text/plain;charset=ascii",
  "application/octet-stream",
]);
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const SEVEN_DAYS_S = 7 * 86_400;

/** An answer other than success: status, nRF error code, message. */
class SimHttpError extends Error {
  constructor(
    readonly status: number,
    readonly nrfCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * Starts a simulated nRF Cloud REST API on a real HTTP server: the IPDevices endpoints,
 * FetchDevice/DeleteDevice, bulk operations with error summaries, device JWT auth, and
 * fault injection (latency, 429, 500, failing rows).
 */
export async function startSimCloud(options: SimCloudOptions = {}): Promise<SimCloud> {
  const now = options.now ?? Date.now;
  const random = seededRandom(options.seed ?? 1);
  const apiKey =
    options.apiKey ??
    Buffer.from(Array.from({ length: 20 }, () => Math.floor(random() * 256))).toString("hex");
  const tenantId = "5a4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c";
  const bulkDelayMs = options.bulkDelayMs ?? 1000;
  const registry = new DeviceRegistry(now);
  const bulkOps = new Map<string, SimBulkOp>();
  const ownershipCodes = new Map(Object.entries(options.ownershipCodes ?? {}));
  const stats = { requests: 0, injected429: 0, injected500: 0 };
  const timers = new Set<NodeJS.Timeout>();
  /** The next step of each unfinished bulk operation. */
  const pendingSteps = new Map<SimBulkOp, () => void>();
  let jitpCa: Promise<SimCertificateAuthority> | null = null;
  const getJitpCa = () => {
    jitpCa ??= createSimCertificateAuthority({
      commonName: "nrf-provision simulated JITP CA",
      now,
    });
    return jitpCa;
  };
  let origin = "";

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const rowFails = (deviceId: string, row: number, endpoint: BulkEndpoint) => {
    const rule = options.failRows;
    if (!rule) return false;
    return typeof rule === "function" ? rule({ deviceId, row, endpoint }) : rule.has(deviceId);
  };

  function requireApiKey(request: IncomingMessage): void {
    const token = bearer(request);
    if (token === null)
      throw new SimHttpError(401, 40100, "Missing Authorization: Bearer <API key>");
    if (token !== apiKey)
      throw new SimHttpError(401, 40100, "Invalid API key (or wrong token type)");
  }

  /** API key, or a device JWT for this device (ES256, sub = device ID, iat/exp checked). */
  async function authorizeDevice(request: IncomingMessage, deviceId: string): Promise<void> {
    const token = bearer(request);
    if (token === null) throw new SimHttpError(401, 40100, "Missing Authorization header");
    if (token === apiKey) return;
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new SimHttpError(401, 40100, "Invalid API key or malformed JWT");
    }
    if (alg !== "ES256")
      throw new SimHttpError(401, 40100, `JWT alg must be ES256, got ${String(alg)}`);
    const keys = registry.jwtKeys(deviceId);
    if (keys.length === 0) {
      throw new SimHttpError(
        401,
        40100,
        `No certificate or public key is registered for device ${deviceId}`,
      );
    }
    let lastProblem = "";
    for (const key of keys) {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: ["ES256"],
          subject: deviceId,
          maxTokenAge: SEVEN_DAYS_S,
          clockTolerance: options.jwtClockToleranceSeconds ?? 60,
          currentDate: new Date(now()),
        });
        if (
          payload.exp !== undefined &&
          payload.iat !== undefined &&
          payload.exp - payload.iat > SEVEN_DAYS_S
        ) {
          throw new Error("JWT lifetime exceeds 7 days");
        }
        return;
      } catch (error) {
        lastProblem = (error as Error).message;
      }
    }
    throw new SimHttpError(401, 40100, `Device JWT refused for ${deviceId}: ${lastProblem}`);
  }

  function startBulkOp(endpoint: BulkEndpoint, body: string): string {
    const rows = validateUpload(endpoint, body);
    const id = ulid(now(), random);
    const dataPath = `${origin}/bulk-ops-requests-data/${tenantId}/${endpoint.toLowerCase()}/${id}`;
    const op: SimBulkOp = {
      details: {
        bulkOpsRequestId: id,
        endpoint,
        status: "PENDING",
        requestedAt: new Date(now()).toISOString(),
        uploadedDataUrl: `${dataPath}.csv`,
      },
      body,
      errors: [],
    };
    bulkOps.set(id, op);
    const step = () => {
      if (op.details.status === "PENDING") op.details.status = "IN_PROGRESS";
      else if (op.details.status === "IN_PROGRESS") finishBulkOp(op, rows, endpoint, dataPath);
    };
    pendingSteps.set(op, step);
    if (options.bulkProgress !== "manual") {
      // Chained, not two timers: under load two due timers may run in either order.
      later(bulkDelayMs / 2, () => {
        step();
        later(bulkDelayMs / 2, step);
      });
    }
    return id;
  }

  function advanceBulkOps(): number {
    let moved = 0;
    for (const step of [...pendingSteps.values()]) {
      step();
      moved += 1;
    }
    return moved;
  }

  /** Applies every row, then sets the final status and the error summary URL. */
  function finishBulkOp(
    op: SimBulkOp,
    rows: UploadedRow[],
    endpoint: BulkEndpoint,
    dataPath: string,
  ): void {
    rows.forEach((row, index) => {
      const error = rowFails(row.deviceId, index, endpoint)
        ? "Simulated failure of this row (failRows)"
        : endpoint === "ONBOARD_DEVICES"
          ? registry.onboard(row)?.message
          : endpoint === "REGISTER_CERTIFICATES"
            ? registry.replaceCertificate(row.deviceId, row.pem)
            : registry.registerPublicKey(row.deviceId, row.pem);
      if (error) op.errors.push({ row: index, message: error });
    });
    pendingSteps.delete(op);
    op.details.status = op.errors.length === 0 ? "SUCCEEDED" : "FAILED";
    op.details.completedAt = new Date(now()).toISOString();
    if (op.errors.length > 0) op.details.errorSummaryUrl = `${dataPath}.json`;
  }

  type Route = (
    request: IncomingMessage,
    params: string[],
    body: string,
    url: URL,
  ) => Promise<Answer> | Answer;
  interface Answer {
    status: number;
    json?: unknown;
    text?: string;
  }
  const routes: Array<[string, RegExp, Route]> = [
    [
      "PUT",
      /^\/v1\/association\/([^/]+)$/,
      (request, [id = ""], body, url) => {
        requireApiKey(request);
        checkOwnershipCode(id, body.trim());
        const subType = url.searchParams.get("subType") ?? undefined;
        if (subType !== undefined && !isValidSubType(subType)) {
          throw new SimHttpError(422, 42200, "Validation failed: field subType");
        }
        registry.associate(id, subType);
        return { status: 202 };
      },
    ],
    [
      "DELETE",
      /^\/v1\/association\/([^/]+)$/,
      (request, [id = ""]) => {
        requireApiKey(request);
        if (!registry.delete(id))
          throw new SimHttpError(404, 40413, `No device found for ID ${id}`);
        return { status: 202 };
      },
    ],
    [
      "POST",
      /^\/v1\/devices\/certificates$/,
      (request, _params, body) => {
        requireApiKey(request);
        requireCsv(request);
        return {
          status: 202,
          json: { bulkOpsRequestId: startBulkOp("REGISTER_CERTIFICATES", body) },
        };
      },
    ],
    [
      "POST",
      /^\/v1\/devices\/public-keys$/,
      (request, _params, body) => {
        requireApiKey(request);
        requireCsv(request);
        return {
          status: 202,
          json: { bulkOpsRequestId: startBulkOp("REGISTER_PUBLIC_KEYS", body) },
        };
      },
    ],
    [
      "POST",
      /^\/v1\/devices$/,
      (request, _params, body) => {
        requireApiKey(request);
        requireCsv(request);
        return { status: 202, json: { bulkOpsRequestId: startBulkOp("ONBOARD_DEVICES", body) } };
      },
    ],
    [
      "POST",
      /^\/v1\/devices\/([^/]+)\/certificates$/,
      async (request, [id = ""], body) => {
        requireApiKey(request);
        if (!isValidDeviceId(id))
          throw new SimHttpError(422, 42200, "Validation failed: field deviceId");
        if (id.startsWith("nrf-")) checkOwnershipCode(id, body.trim());
        else if (body.trim() === "")
          throw new SimHttpError(400, 40102, "An ownership code is required");
        const issued = issueKeyPair(await getJitpCa(), id);
        return {
          status: 201,
          json: {
            clientId: id,
            caCert: await simCaPem(),
            clientCert: issued.certificatePem,
            privateKey: issued.privateKeyPem,
          },
        };
      },
    ],
    [
      "POST",
      /^\/v1\/devices\/([^/]+)$/,
      (request, [id = ""], body) => {
        requireApiKey(request);
        const input = parseJson(body);
        const row = onboardingArgs(id, input);
        const problem = registry.onboard(row);
        if (problem?.conflict) throw new SimHttpError(409, 40900, problem.message);
        if (problem) throw new SimHttpError(400, 40000, problem.message);
        return { status: 202 };
      },
    ],
    [
      "PATCH",
      /^\/v1\/devices\/([^/]+)\/state$/,
      async (request, [id = ""], body) => {
        await authorizeDevice(request, id);
        const device = registry.devices.get(id);
        if (!device)
          throw new SimHttpError(404, 40412, `Device ${id} is not provisioned (onboard it first)`);
        const patch = parseJson(body);
        if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
          throw new SimHttpError(
            400,
            40000,
            "The state must be a JSON object with reported and/or desired",
          );
        }
        const ifMatch = request.headers["if-match"];
        if (ifMatch !== undefined) {
          const expected = Number(ifMatch.replaceAll('"', "").trim());
          if (expected !== device.shadow.version) {
            throw new SimHttpError(
              409,
              40900,
              `If-Match ${ifMatch} does not match the shadow version ${device.shadow.version}`,
            );
          }
        }
        registry.updateShadow(device, patch as { reported?: unknown; desired?: unknown });
        return { status: 202 };
      },
    ],
    [
      "GET",
      /^\/v1\/devices\/([^/]+)$/,
      async (request, [id = ""]) => {
        await authorizeDevice(request, id);
        const device = registry.devices.get(id);
        if (!device) throw new SimHttpError(404, 40410, `Device ${id} not found`);
        return { status: 200, json: describeDevice(device, tenantId) };
      },
    ],
    [
      "DELETE",
      /^\/v1\/devices\/([^/]+)$/,
      (request, [id = ""]) => {
        requireApiKey(request);
        if (!registry.delete(id))
          throw new SimHttpError(404, 40414, `No device found for ID ${id}`);
        return { status: 202 };
      },
    ],
    [
      "GET",
      /^\/v1\/bulk-ops-requests\/([^/]+)$/,
      (request, [id = ""]) => {
        requireApiKey(request);
        const op = bulkOps.get(id);
        if (!op) throw new SimHttpError(404, 40410, `Bulk operation ${id} not found`);
        return { status: 200, json: op.details };
      },
    ],
    [
      "GET",
      /^\/v1\/bulk-ops-requests$/,
      (request, _params, _body, url) => {
        requireApiKey(request);
        const status = url.searchParams.get("status");
        const pageLimit = Number(url.searchParams.get("pageLimit") ?? 10);
        const all = [...bulkOps.values()]
          .map((op) => op.details)
          .filter((d) => status === null || d.status === status);
        const token = url.searchParams.get("pageNextToken");
        const start = token === null ? 0 : all.findIndex((d) => d.bulkOpsRequestId === token) + 1;
        const items = all.slice(start, start + pageLimit);
        const last = items[items.length - 1];
        const more = start + pageLimit < all.length && last;
        return {
          status: 200,
          json: {
            items,
            total: all.length,
            ...(more ? { pageNextToken: last.bulkOpsRequestId } : {}),
          },
        };
      },
    ],
    // Pre-signed-style data URLs: no auth, as on the real bucket.
    [
      "GET",
      /^\/bulk-ops-requests-data\/[^/]+\/[^/]+\/([0-9A-Z]{26})\.(json|csv)$/,
      (_request, [id = "", kind]) => {
        const op = bulkOps.get(id);
        if (!op || (kind === "json" && !op.details.errorSummaryUrl)) {
          throw new SimHttpError(404, 40420, "Not found");
        }
        if (kind === "csv") return { status: 200, text: op.body };
        const summary =
          options.errorSummaryFormat === "legacy"
            ? formatLegacyErrorSummary(op.errors)
            : formatErrorSummary(op.errors);
        return { status: 200, text: summary };
      },
    ],
  ];

  async function simCaPem(): Promise<string> {
    return (await getJitpCa()).certificatePem;
  }

  function checkOwnershipCode(deviceId: string, code: string): void {
    const expected = ownershipCodes.get(deviceId);
    if (expected === undefined) {
      throw new SimHttpError(
        404,
        40411,
        `No Nordic product with ownership code found for ${deviceId}`,
      );
    }
    if (code !== expected)
      throw new SimHttpError(400, 40102, `Invalid ownership code for ${deviceId}`);
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    stats.requests += 1;
    const url = new URL(request.url ?? "/", origin);
    if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    let answer: Answer;
    try {
      const body = await readBody(request);
      if (options.rate429 && random() < options.rate429) {
        stats.injected429 += 1;
        const seconds = options.retryAfterSeconds ?? 1;
        throw new SimHttpError(429, 42900, "Too many requests (simulated)", {
          "retry-after":
            options.retryAfterFormat === "http-date"
              ? new Date(Date.now() + seconds * 1000).toUTCString()
              : String(seconds),
        });
      }
      if (options.rate500 && random() < options.rate500) {
        stats.injected500 += 1;
        throw new SimHttpError(500, 50010, "Internal server error (simulated)");
      }
      answer = await route(request, url, body);
    } catch (error) {
      answer = errorAnswer(error, response);
    }
    if (answer.json !== undefined) {
      response.writeHead(answer.status, { "content-type": "application/json" });
      response.end(JSON.stringify(answer.json));
    } else {
      response.writeHead(
        answer.status,
        answer.text === undefined ? {} : { "content-type": "text/plain" },
      );
      response.end(answer.text);
    }
  }

  async function route(request: IncomingMessage, url: URL, body: string): Promise<Answer> {
    let pathMatched = false;
    for (const [method, pattern, fn] of routes) {
      const match = pattern.exec(url.pathname);
      if (!match) continue;
      pathMatched = true;
      if (method !== request.method) continue;
      return fn(request, match.slice(1).map(decodeURIComponent), body, url);
    }
    throw pathMatched
      ? new SimHttpError(405, 40500, `Method ${request.method} not allowed on ${url.pathname}`)
      : new SimHttpError(404, 40420, `No resource at ${url.pathname}`);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.destroy(error as Error);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  origin = `http://${host}:${address.port}`;

  return {
    baseUrl: `${origin}/v1`,
    apiKey,
    registry,
    devices: registry.devices,
    bulkOps,
    ownershipCodes,
    jitpCaCertificatePem: simCaPem,
    advanceBulkOps,
    stats,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function errorAnswer(error: unknown, response: ServerResponse): { status: number; json: unknown } {
  if (error instanceof SimHttpError) {
    for (const [name, value] of Object.entries(error.headers)) response.setHeader(name, value);
    return { status: error.status, json: { code: error.nrfCode, message: error.message } };
  }
  if (error instanceof CsvValidationError) {
    return { status: 422, json: { code: 42200, message: error.message } };
  }
  return {
    status: 500,
    json: { code: 50010, message: `Simulator bug: ${(error as Error).message}` },
  };
}

function bearer(request: IncomingMessage): string | null {
  const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? "");
  return match?.[1] ?? null;
}

function requireCsv(request: IncomingMessage): void {
  const type = (request.headers["content-type"] ?? "").toLowerCase().replaceAll(" ", "");
  if (!CSV_CONTENT_TYPES.has(type)) {
    throw new SimHttpError(
      400,
      40000,
      `Content-Type ${type || "(none)"} is not accepted for CSV uploads`,
    );
  }
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new SimHttpError(400, 40000, "The body is not valid JSON");
  }
}

/**
 * OnboardSingleDeviceArgs, validated like the CSV columns (JSON allows SMP/CUSTOM and commas in
 * subType). `certificate` holds a certificate or an ES256 public key, as the CSV column does.
 */
function onboardingArgs(deviceId: string, input: unknown) {
  const fail = (field: string): never => {
    throw new SimHttpError(422, 42200, `Validation failed: field ${field}`);
  };
  if (!isValidDeviceId(deviceId)) fail("deviceId");
  if (typeof input !== "object" || input === null) return fail("body");
  const args = input as Record<string, unknown>;
  // Both onboarding modalities travel in `certificate`: a device certificate or a public key.
  const pem = args.certificate;
  if (typeof pem !== "string" || !(isCertificatePem(pem) || isPublicKeyPem(pem)))
    fail("certificate");
  const subType = args.subType ?? "";
  if (typeof subType !== "string" || !isValidSubType(subType)) fail("subType");
  const tags = args.tags ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === "string" && isValidTag(t)))
    fail("tags");
  const types = args.supportedFirmwareTypes ?? [];
  const allowed = ["APP", "MODEM", "BOOT", "SOFTDEVICE", "BOOTLOADER", "MDM_FULL", "SMP", "CUSTOM"];
  if (!Array.isArray(types) || !types.every((t) => allowed.includes(t)))
    fail("supportedFirmwareTypes");
  return {
    deviceId,
    subType: subType as string,
    tags: tags as string[],
    firmwareTypes: types as string[],
    pem: args.certificate as string,
  };
}

function describeDevice(device: SimDevice, tenantId: string) {
  return {
    id: device.id,
    name: device.id,
    type: device.type,
    subType: device.subType,
    tenantId,
    tags: device.tags,
    cloudMqttEnabled: device.onboardingPem?.includes("CERTIFICATE") ?? false,
    firmware: { supports: device.firmwareTypes },
    $meta: {
      createdAt: device.createdAt,
      updatedAt: device.updatedAt,
      version: device.shadow.version,
    },
    state: {
      reported: device.shadow.reported,
      desired: device.shadow.desired,
      version: device.shadow.version,
    },
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new SimHttpError(413, 41300, "Body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
