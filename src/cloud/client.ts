import type { z } from "zod";
import { mapWithConcurrency } from "../concurrency/index.js";
import { deviceIdProblem } from "../device-id/index.js";
import {
  buildOnboardingCsv,
  buildRegisterCertificatesCsv,
  buildRegisterPublicKeysCsv,
  type CertificateRow,
  type CsvBody,
  JSON_FIRMWARE_TYPES,
  JSON_SUBTYPE_PATTERN,
  type OnboardingRow,
  onboardingPemProblem,
  type PublicKeyRow,
  TAG_PATTERN,
} from "./csv.js";
import { parseErrorSummary } from "./error-summary.js";
import { BulkOpsError, CloudError, CsvError } from "./errors.js";
import { type Auth, type HttpRequest, type RetryOptions, sendRequest, sleep } from "./http.js";
import type {
  BulkOpsAccepted,
  BulkOpsRequestDetails,
  BulkOpsRequestList,
  BulkOpsStatus,
  Device,
  DeviceCertificate,
} from "./schemas.js";

/** A bulk operation's ID (schemas.ts has the same; that module loads zod). */
const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

type Schemas = typeof import("./schemas.js");
type SchemaName = {
  [K in keyof Schemas]: Schemas[K] extends z.ZodType ? K : never;
}[keyof Schemas];

let schemas: Promise<Schemas> | undefined;
/** zod and the response schemas load with the first response to check, not at import. */
function loadSchemas(): Promise<Schemas> {
  schemas ??= import("./schemas.js");
  return schemas;
}

export const DEFAULT_BASE_URL = "https://api.nrfcloud.com/v1";

export interface CloudClientOptions {
  /** Default `https://api.nrfcloud.com/v1`; include the path prefix (e.g. an organisation's). */
  baseUrl?: string;
  /** Team API key; only needed for account calls. Never logged or put in errors. */
  apiKey?: string;
  fetch?: typeof fetch;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  retry?: RetryOptions;
  userAgent?: string;
  /** Called for deprecated endpoints and other non-fatal advice. */
  onWarning?: (message: string) => void;
  /** Concurrent uploads when a bulk call is split into several requests (default 3). */
  uploadConcurrency?: number;
  now?: () => number;
}

/** One uploaded CSV request: its job ID and the device of each 0-based CSV row. */
export interface BulkUploadChunk {
  bulkOpsRequestId: string;
  deviceIds: string[];
  /** Index in the caller's row list of this request's row 0. */
  firstInputRow: number;
}

export interface BulkUpload {
  endpoint: "ONBOARD_DEVICES" | "REGISTER_CERTIFICATES" | "REGISTER_PUBLIC_KEYS";
  chunks: BulkUploadChunk[];
}

export interface BulkRowFailure {
  bulkOpsRequestId: string;
  /** 0-based row of that request's CSV. */
  row: number;
  /** Index in the caller's row list, when the upload was made by this client. */
  inputRow: number | null;
  deviceId: string | null;
  message: string;
}

export interface BulkOpsResult {
  bulkOpsRequestId: string;
  status: "SUCCEEDED" | "FAILED";
  details: BulkOpsRequestDetails;
  failures: BulkRowFailure[];
  /** The error summary as received when it could not be parsed (all rows then count as failed). */
  rawErrorSummary?: string;
}

export interface WaitForBulkOpsOptions {
  /** Overall limit (default 10 min). */
  timeoutMs?: number;
  /** First poll delay (default 1 s), growing ×1.5 up to `maxPollIntervalMs` (default 5 s). */
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
  onProgress?: (details: BulkOpsRequestDetails) => void;
  /** Throw ERR_BULK_FAILED instead of returning a FAILED result. */
  throwOnFailure?: boolean;
  /** Stops waiting (ERR_BULK_WAIT_ABORTED) when aborted; the job itself goes on. */
  signal?: AbortSignal;
}

export interface OnboardDeviceInput {
  deviceId: string;
  /** The device certificate PEM, or an ES256 public-key PEM (sent in the same field). */
  certificate: string;
  subType?: string;
  tags?: readonly string[];
  supportedFirmwareTypes?: readonly string[];
}

export interface UpdateDeviceStateInput {
  deviceId: string;
  state: { reported?: Record<string, unknown>; desired?: Record<string, unknown> };
  /** Device JWT; without it the API key is used. */
  jwt?: string;
  /** Expected shadow version (optimistic locking); mismatch → ERR_CLOUD_CONFLICT. */
  ifMatch?: number;
}

export interface ListBulkOpsOptions {
  status?: BulkOpsStatus;
  startRequestedAt?: string;
  endRequestedAt?: string;
  pageLimit?: number;
  pageNextToken?: string;
}

/** The nRF Cloud REST client: one function per endpoint. */
export interface CloudClient {
  /** The base URL in use, without a trailing slash. */
  readonly baseUrl: string;
  associateDevice(o: { deviceId: string; ownershipCode: string; subType?: string }): Promise<void>;
  createDeviceCertificate(o: {
    deviceId: string;
    ownershipCode: string;
  }): Promise<DeviceCertificate>;
  dissociateDevice(o: { deviceId: string }): Promise<void>;
  onboardDevice(o: OnboardDeviceInput): Promise<void>;
  onboardDevices(rows: readonly OnboardingRow[]): Promise<BulkUpload>;
  registerCertificates(rows: readonly CertificateRow[]): Promise<BulkUpload>;
  registerPublicKeys(rows: readonly PublicKeyRow[]): Promise<BulkUpload>;
  updateDeviceState(o: UpdateDeviceStateInput): Promise<void>;
  fetchDevice(o: { deviceId: string; jwt?: string }): Promise<Device>;
  deleteDevice(o: { deviceId: string; ownershipCode?: string }): Promise<void>;
  getBulkOpsRequest(bulkOpsRequestId: string): Promise<BulkOpsRequestDetails>;
  listBulkOpsRequests(query?: ListBulkOpsOptions): Promise<BulkOpsRequestList>;
  /** Polls one job; with a chunk (not a bare ID) failures carry device IDs. */
  waitForBulkOps(
    job: string | BulkUploadChunk,
    options?: WaitForBulkOpsOptions,
  ): Promise<BulkOpsResult>;
  /** Waits for every request of an upload (concurrently) and merges the failures. */
  waitForBulkUpload(upload: BulkUpload, options?: WaitForBulkOpsOptions): Promise<BulkUploadResult>;
}

export interface BulkUploadResult {
  status: "SUCCEEDED" | "FAILED";
  results: BulkOpsResult[];
  failures: BulkRowFailure[];
}

/** A typed nRF Cloud REST client: one function per endpoint, responses validated at runtime. */
export function createCloudClient(options: CloudClientOptions = {}): CloudClient {
  const base = new URL(options.baseUrl ?? DEFAULT_BASE_URL);
  if (base.username !== "" || base.password !== "") {
    // Never echoed: the URL is shown without its user:password part.
    base.username = "";
    base.password = "";
    throw new CloudError(
      "ERR_CLOUD_CONFIG",
      `The nRF Cloud base URL must not carry credentials (user:password@): ${base.href}. The API key goes in NRF_CLOUD_API_KEY or --api-key.`,
      { details: { baseUrl: base.href } },
    );
  }
  void loadSchemas(); // while the first request is on the wire
  const basePath = base.pathname.replace(/\/+$/, "");
  const http = {
    fetch: options.fetch ?? globalThis.fetch,
    timeoutMs: options.timeoutMs ?? 30_000,
    userAgent: options.userAgent ?? "nrf-provision",
    now: options.now ?? Date.now,
    retry: {
      maxAttempts: options.retry?.maxAttempts ?? 5,
      baseDelayMs: options.retry?.baseDelayMs ?? 500,
      maxDelayMs: options.retry?.maxDelayMs ?? 30_000,
      random: options.retry?.random ?? Math.random,
      sleep: options.retry?.sleep ?? sleep,
    },
  };
  const apiKey: Auth = { kind: "api-key", apiKey: options.apiKey };
  const warn = options.onWarning ?? (() => {});
  const concurrency = Math.max(1, options.uploadConcurrency ?? 3);

  const url = (path: string, query?: Record<string, string | number | undefined>) => {
    const result = new URL(base);
    result.pathname = basePath + path;
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) result.searchParams.set(key, String(value));
    }
    return result;
  };
  const device = (deviceId: string) => encodeURIComponent(deviceId);

  const send = (request: HttpRequest) => sendRequest(http, request);

  async function sendJson<N extends SchemaName>(
    request: HttpRequest,
    schemaName: N,
  ): Promise<z.infer<Schemas[N]>> {
    const response = await send(request);
    const schema = (await loadSchemas())[schemaName] as unknown as z.ZodType<z.infer<Schemas[N]>>;
    let json: unknown;
    try {
      json = JSON.parse(response.text);
    } catch (cause) {
      throw responseError(request, "is not JSON", cause);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw responseError(request, parsed.error.message, parsed.error);
    return parsed.data;
  }

  /**
   * The 202 of a bulk upload, `{"bulkOpsRequestId": "<ULID>"}`, checked by hand so that the
   * first status poll goes out at once instead of after zod has loaded.
   */
  function acceptedBulkOps(request: HttpRequest, response: { text: string }): BulkOpsAccepted {
    let json: unknown;
    try {
      json = JSON.parse(response.text);
    } catch (cause) {
      throw responseError(request, "is not JSON", cause);
    }
    const id = (json as { bulkOpsRequestId?: unknown } | null)?.bulkOpsRequestId;
    if (typeof id !== "string" || !ULID_PATTERN.test(id)) {
      throw responseError(request, "has no bulkOpsRequestId (a ULID)", undefined);
    }
    return { bulkOpsRequestId: id };
  }

  async function uploadCsv(
    endpoint: BulkUpload["endpoint"],
    path: string,
    bodies: CsvBody[],
  ): Promise<BulkUpload> {
    const chunks = await mapWithConcurrency(bodies, concurrency, async (body) => {
      const request: HttpRequest = {
        method: "POST",
        url: url(path),
        auth: apiKey,
        body: body.body,
        contentType: "text/csv",
        expect: [202],
      };
      const accepted = acceptedBulkOps(request, await send(request));
      return {
        bulkOpsRequestId: accepted.bulkOpsRequestId,
        deviceIds: body.deviceIds,
        firstInputRow: body.firstRow,
      };
    });
    return { endpoint, chunks };
  }

  async function getBulkOpsRequest(bulkOpsRequestId: string): Promise<BulkOpsRequestDetails> {
    return sendJson(
      {
        method: "GET",
        url: url(`/bulk-ops-requests/${encodeURIComponent(bulkOpsRequestId)}`),
        auth: apiKey,
        expect: [200],
      },
      "BulkOpsRequestDetailsSchema",
    );
  }

  async function waitForBulkOps(
    job: string | BulkUploadChunk,
    waitOptions: WaitForBulkOpsOptions = {},
  ): Promise<BulkOpsResult> {
    const chunk = typeof job === "string" ? null : job;
    const id = typeof job === "string" ? job : job.bulkOpsRequestId;
    const deadline = http.now() + (waitOptions.timeoutMs ?? 600_000);
    const maxInterval = waitOptions.maxPollIntervalMs ?? 5_000;
    let interval = Math.min(waitOptions.pollIntervalMs ?? 1_000, maxInterval);
    let details = await getBulkOpsRequest(id);
    waitOptions.onProgress?.(details);
    while (details.status === "PENDING" || details.status === "IN_PROGRESS") {
      const remaining = deadline - http.now();
      if (remaining <= 0) {
        throw new BulkOpsError(
          "ERR_BULK_TIMEOUT",
          `Bulk operation ${id} is still ${details.status} after ${waitOptions.timeoutMs ?? 600_000} ms; check it later with "cloud bulk-status ${id} --wait".`,
          { details: { bulkOpsRequestId: id, status: details.status } },
        );
      }
      await abortableSleep(Math.min(interval, remaining), waitOptions.signal);
      if (waitOptions.signal?.aborted) {
        throw new BulkOpsError(
          "ERR_BULK_WAIT_ABORTED",
          `Stopped waiting for bulk operation ${id} (still ${details.status}); check it later with "cloud bulk-status ${id} --wait".`,
          { details: { bulkOpsRequestId: id, status: details.status } },
        );
      }
      interval = Math.min(interval * 1.5, maxInterval);
      details = await getBulkOpsRequest(id);
      waitOptions.onProgress?.(details);
    }
    const result = await collectFailures(details, chunk);
    if (result.status === "FAILED" && waitOptions.throwOnFailure) throw bulkFailedError([result]);
    return result;
  }

  async function collectFailures(
    details: BulkOpsRequestDetails,
    chunk: BulkUploadChunk | null,
  ): Promise<BulkOpsResult> {
    const id = details.bulkOpsRequestId;
    const status = details.status === "SUCCEEDED" ? "SUCCEEDED" : "FAILED";
    if (status === "SUCCEEDED") return { bulkOpsRequestId: id, status, details, failures: [] };
    const failure = (row: number, message: string): BulkRowFailure => ({
      bulkOpsRequestId: id,
      row,
      inputRow: chunk ? chunk.firstInputRow + row : null,
      deviceId: chunk?.deviceIds[row] ?? null,
      message,
    });
    const everyRow = (message: string) =>
      (chunk?.deviceIds ?? []).map((_, row) => failure(row, message));
    if (!details.errorSummaryUrl) {
      return {
        bulkOpsRequestId: id,
        status,
        details,
        failures: everyRow("unknown (no error summary)"),
      };
    }
    // Pre-signed URL: fetched as given, without the Authorization header.
    const response = await send({
      method: "GET",
      url: new URL(details.errorSummaryUrl),
      auth: { kind: "none" },
      expect: [200],
    });
    const summary = parseErrorSummary(response.text);
    if (summary.format === "unparseable") {
      return {
        bulkOpsRequestId: id,
        status,
        details,
        failures: everyRow("unknown (error summary unparseable)"),
        rawErrorSummary: summary.raw,
      };
    }
    return {
      bulkOpsRequestId: id,
      status,
      details,
      failures: summary.errors.map((e) => failure(e.row, e.message)),
    };
  }

  /** Waits for every request of an upload (concurrently) and merges the failures. */
  async function waitForBulkUpload(
    upload: BulkUpload,
    waitOptions: WaitForBulkOpsOptions = {},
  ): Promise<BulkUploadResult> {
    const results = await Promise.all(
      upload.chunks.map((chunk) =>
        waitForBulkOps(chunk, { ...waitOptions, throwOnFailure: false }),
      ),
    );
    const failures = results.flatMap((r) => r.failures);
    const status = results.every((r) => r.status === "SUCCEEDED") ? "SUCCEEDED" : "FAILED";
    if (status === "FAILED" && waitOptions.throwOnFailure) throw bulkFailedError(results);
    return { status, results, failures };
  }

  return {
    baseUrl: base.toString().replace(/\/$/, ""),

    /** AssociateDevice: adds a Nordic device to the account with its ownership code (202). */
    async associateDevice(o: {
      deviceId: string;
      ownershipCode: string;
      subType?: string;
    }): Promise<void> {
      await send({
        method: "PUT",
        url: url(`/association/${device(o.deviceId)}`, { subType: o.subType }),
        auth: apiKey,
        body: o.ownershipCode,
        contentType: "text/plain",
        expect: [202],
      });
    },

    /** CreateDeviceCertificate (deprecated upstream: use onboardDevice with your own CA). */
    async createDeviceCertificate(o: {
      deviceId: string;
      ownershipCode: string;
    }): Promise<DeviceCertificate> {
      warn(
        `CreateDeviceCertificate is deprecated by nRF Cloud (JITP with Nordic's CA); prefer onboarding with your own CA (cloud onboard).`,
      );
      return sendJson(
        {
          method: "POST",
          url: url(`/devices/${device(o.deviceId)}/certificates`),
          auth: apiKey,
          body: o.ownershipCode,
          contentType: "text/plain",
          expect: [201],
        },
        "DeviceCertificateSchema",
      );
    },

    /** DissociateDevice (deprecated upstream: use deleteDevice). */
    async dissociateDevice(o: { deviceId: string }): Promise<void> {
      warn(`DissociateDevice is deprecated by nRF Cloud; use DeleteDevice (cloud device delete).`);
      await send({
        method: "DELETE",
        url: url(`/association/${device(o.deviceId)}`),
        auth: apiKey,
        expect: [202],
      });
    },

    /** OnboardDevice: one device, JSON body (202); with a certificate or an ES256 public key. */
    async onboardDevice(o: OnboardDeviceInput): Promise<void> {
      validateOnboardDeviceInput(o);
      const body: Record<string, unknown> = { certificate: o.certificate };
      if (o.subType !== undefined) body.subType = o.subType;
      if (o.tags !== undefined) body.tags = o.tags;
      if (o.supportedFirmwareTypes !== undefined)
        body.supportedFirmwareTypes = o.supportedFirmwareTypes;
      await send({
        method: "POST",
        url: url(`/devices/${device(o.deviceId)}`),
        auth: apiKey,
        body: JSON.stringify(body),
        contentType: "application/json",
        expect: [202],
      });
    },

    /** OnboardDevices: validates every row, then uploads ≤ 1000-row CSVs concurrently. */
    async onboardDevices(rows: readonly OnboardingRow[]): Promise<BulkUpload> {
      return uploadCsv("ONBOARD_DEVICES", "/devices", buildOnboardingCsv(rows));
    },

    /** RegisterCertificates: replaces certificates of onboarded devices (bulk). */
    async registerCertificates(rows: readonly CertificateRow[]): Promise<BulkUpload> {
      return uploadCsv(
        "REGISTER_CERTIFICATES",
        "/devices/certificates",
        buildRegisterCertificatesCsv(rows),
      );
    },

    /** RegisterPublicKeys: ES256 JWT-verification keys (bulk; overwrites a device's key). */
    async registerPublicKeys(rows: readonly PublicKeyRow[]): Promise<BulkUpload> {
      return uploadCsv(
        "REGISTER_PUBLIC_KEYS",
        "/devices/public-keys",
        buildRegisterPublicKeysCsv(rows),
      );
    },

    /** UpdateDeviceState: merges a partial shadow document (202; 200 accepted too). */
    async updateDeviceState(o: UpdateDeviceStateInput): Promise<void> {
      const headers: Record<string, string> = {};
      if (o.ifMatch !== undefined) headers["if-match"] = String(o.ifMatch);
      await send({
        method: "PATCH",
        url: url(`/devices/${device(o.deviceId)}/state`),
        auth: o.jwt ? { kind: "bearer", token: o.jwt } : apiKey,
        body: JSON.stringify(o.state),
        contentType: "application/json",
        headers,
        expect: [200, 202],
      });
    },

    /** FetchDevice (API key, or a device JWT). */
    async fetchDevice(o: { deviceId: string; jwt?: string }): Promise<Device> {
      const request: HttpRequest = {
        method: "GET",
        url: url(`/devices/${device(o.deviceId)}`),
        auth: o.jwt ? { kind: "bearer", token: o.jwt } : apiKey,
        expect: [200],
      };
      const fetched = await sendJson(request, "DeviceSchema");
      if (fetched.id !== o.deviceId) {
        throw responseError(
          request,
          `it describes device ${JSON.stringify(fetched.id.slice(0, 128))}, not ${o.deviceId}`,
          undefined,
        );
      }
      return fetched;
    },

    /** DeleteDevice; the ownership code is only needed for onboarded, unassociated Nordic hardware. */
    async deleteDevice(o: { deviceId: string; ownershipCode?: string }): Promise<void> {
      await send({
        method: "DELETE",
        url: url(`/devices/${device(o.deviceId)}`),
        auth: apiKey,
        ...(o.ownershipCode ? { body: o.ownershipCode, contentType: "text/plain" } : {}),
        expect: [202],
      });
    },

    getBulkOpsRequest,

    async listBulkOpsRequests(query: ListBulkOpsOptions = {}): Promise<BulkOpsRequestList> {
      return sendJson(
        {
          method: "GET",
          url: url("/bulk-ops-requests", { ...query }),
          auth: apiKey,
          expect: [200],
        },
        "BulkOpsRequestListSchema",
      );
    },

    waitForBulkOps,
    waitForBulkUpload,
  };
}

/** The error for failed bulk rows: every failed device with its reason, in the details. */
export function bulkFailedError(results: readonly BulkOpsResult[]): BulkOpsError {
  const failures = results.flatMap((r) => r.failures);
  const named = failures
    .slice(0, 5)
    .map((f) => `${f.deviceId ?? `row ${f.row}`}: ${f.message}`)
    .join("; ");
  const more = failures.length > 5 ? ` (and ${failures.length - 5} more)` : "";
  return new BulkOpsError(
    "ERR_BULK_FAILED",
    `${failures.length} device(s) failed in bulk operation(s) ${results
      .filter((r) => r.status === "FAILED")
      .map((r) => r.bulkOpsRequestId)
      .join(", ")}: ${named}${more}. Fix those rows and resubmit only them.`,
    { details: { bulkOpsRequestIds: results.map((r) => r.bulkOpsRequestId), failures } },
  );
}

/** OnboardDevice's JSON body: the CSV rules for ID and PEM, JSON rules for the rest. */
function validateOnboardDeviceInput(o: OnboardDeviceInput): void {
  const fail = (field: string, reason: string): never => {
    throw new CsvError(`Device "${o.deviceId}", field ${field}: ${reason}. Nothing was sent.`, {
      deviceId: o.deviceId,
      field,
      reason,
    });
  };
  // The CSV rules for the device ID and the PEM, then the JSON-only ones.
  const idProblem = deviceIdProblem(o.deviceId);
  if (idProblem) fail("deviceId", idProblem);
  const pemProblem = onboardingPemProblem(o.certificate);
  if (pemProblem) fail("certificate", pemProblem);
  if (o.subType !== undefined && !JSON_SUBTYPE_PATTERN.test(o.subType)) {
    fail("subType", `"${o.subType}" must match ${JSON_SUBTYPE_PATTERN}`);
  }
  for (const tag of o.tags ?? []) {
    if (!TAG_PATTERN.test(tag)) fail("tags", `tag "${tag}" must match ${TAG_PATTERN}`);
  }
  for (const type of o.supportedFirmwareTypes ?? []) {
    if (!(JSON_FIRMWARE_TYPES as readonly string[]).includes(type)) {
      fail("supportedFirmwareTypes", `"${type}" is not one of ${JSON_FIRMWARE_TYPES.join(", ")}`);
    }
  }
}

function responseError(request: HttpRequest, problem: string, cause: unknown): CloudError {
  return new CloudError(
    "ERR_CLOUD_RESPONSE",
    `nRF Cloud's answer to ${request.method} ${request.url.pathname} does not match its documented schema (${problem}); the API may have changed: update nrf-provision.`,
    { cause, details: { method: request.method, path: request.url.pathname, problem } },
  );
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return sleep(ms);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
