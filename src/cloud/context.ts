import type { z } from "zod";
import { DEFAULT_BASE_URL } from "./base-url.js";
import { CloudError } from "./errors.js";
import {
  type Auth,
  type HttpOptions,
  type HttpRequest,
  type HttpResponse,
  type RetryOptions,
  sendRequest,
  sleep,
} from "./http.js";

export { DEFAULT_BASE_URL };

/** How requests go out: shared by the nRF Cloud client and the Provisioning Service client. */
export interface HttpClientOptions {
  /** Team API key; only needed for account calls. Never logged or put in errors. */
  apiKey?: string | undefined;
  fetch?: typeof fetch;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  /** Retry policy; its `sleep` is also how the nRF Cloud client's bulk polling waits. */
  retry?: RetryOptions;
  userAgent?: string;
  now?: () => number;
}

export interface CloudClientOptions extends HttpClientOptions {
  /** Default `https://api.nrfcloud.com/v1`; include the path prefix (e.g. an organisation's). */
  baseUrl?: string;
  /** Called for deprecated endpoints and other non-fatal advice. */
  onWarning?: (message: string) => void;
  /** Concurrent uploads when a bulk call is split into several requests (default 3). */
  uploadConcurrency?: number;
}

/** The names of a schemas module's zod schemas. */
export type ZodSchemaName<M> = {
  [K in keyof M]: M[K] extends z.ZodType ? K : never;
}[keyof M];

/** `load` run once, at the first call: zod and a layer's schemas load with its first response. */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load();
    return loaded;
  };
}

type Schemas = typeof import("./schemas.js");
export type SchemaName = ZodSchemaName<Schemas>;
export type SchemaOutput<N extends SchemaName> = z.infer<Schemas[N]>;
const loadSchemas = loadOnce(() => import("./schemas.js"));

/** What every endpoint function shares: where to send, how to authenticate, send and check. */
export interface CloudContext {
  /** The base URL in use, without a trailing slash. */
  readonly baseUrl: string;
  /** The account's API key (possibly undefined: the server then answers 401). */
  readonly apiKey: Auth;
  readonly uploadConcurrency: number;
  readonly now: () => number;
  /** The injected wait (retry backoff and bulk polling); ends early when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  warn(message: string): void;
  /** `path` under the base URL, with the defined query parameters. */
  url(path: string, query?: Record<string, string | number | undefined>): URL;
  send(request: HttpRequest): Promise<HttpResponse>;
  /** Sends, parses the JSON body and checks it against the named response schema. */
  sendJson<N extends SchemaName>(request: HttpRequest, schemaName: N): Promise<SchemaOutput<N>>;
}

/** The device's JWT when given, otherwise the account's API key. */
export function deviceOrAccountAuth(context: CloudContext, jwt: string | undefined): Auth {
  return jwt ? { kind: "bearer", token: jwt } : context.apiKey;
}

/** A device ID as one path segment. */
export function devicePath(deviceId: string): string {
  return encodeURIComponent(deviceId);
}

export function createCloudContext(options: CloudClientOptions = {}): CloudContext {
  const base = baseUrlWithoutCredentials(options.baseUrl ?? DEFAULT_BASE_URL, "nRF Cloud");
  void loadSchemas(); // while the first request is on the wire
  const http = httpOptionsFrom(options);
  const retrySleep = http.retry.sleep;
  const send = (request: HttpRequest) => sendRequest(http, request);
  return {
    baseUrl: base.toString().replace(/\/$/, ""),
    apiKey: { kind: "api-key", apiKey: options.apiKey },
    uploadConcurrency: Math.max(1, options.uploadConcurrency ?? 3),
    now: http.now,
    sleep: (ms, signal) => sleepUnlessAborted(retrySleep, ms, signal),
    warn: options.onWarning ?? (() => {}),
    url: (path, query) => urlUnder(base, path, query),
    send,
    async sendJson(request, schemaName) {
      const response = await send(request);
      const schema = (await loadSchemas())[schemaName] as unknown as z.ZodType<
        SchemaOutput<typeof schemaName>
      >;
      const parsed = schema.safeParse(parseJson(request, response));
      if (!parsed.success) throw responseError(request, parsed.error.message, parsed.error);
      return parsed.data;
    },
  };
}

/** The HTTP layer's settings: the given options over the defaults. */
export function httpOptionsFrom(options: HttpClientOptions): HttpOptions {
  return {
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
}

/** `path` under `base`'s path, with the defined query parameters. */
export function urlUnder(
  base: URL,
  path: string,
  query: Record<string, string | number | undefined> = {},
): URL {
  const result = new URL(base);
  result.pathname = base.pathname.replace(/\/+$/, "") + path;
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) result.searchParams.set(key, String(value));
  }
  return result;
}

/** `baseUrl` parsed, or ERR_CLOUD_CONFIG when it carries credentials. `service` names it. */
export function baseUrlWithoutCredentials(baseUrl: string, service: string): URL {
  const base = new URL(baseUrl);
  if (base.username === "" && base.password === "") return base;
  // Never echoed: the URL is shown without its user:password part.
  base.username = "";
  base.password = "";
  throw new CloudError(
    "ERR_CLOUD_CONFIG",
    `The ${service} base URL must not carry credentials (user:password@): ${base.href}. The API key goes in NRF_CLOUD_API_KEY or --api-key.`,
    { details: { baseUrl: base.href } },
  );
}

/** The response body as JSON, or ERR_CLOUD_RESPONSE. */
export function parseJson(request: HttpRequest, response: { text: string }): unknown {
  try {
    return JSON.parse(response.text);
  } catch (cause) {
    throw responseError(request, "is not JSON", cause);
  }
}

export function responseError(request: HttpRequest, problem: string, cause: unknown): CloudError {
  return new CloudError(
    "ERR_CLOUD_RESPONSE",
    `nRF Cloud's answer to ${request.method} ${request.url.pathname} does not match its documented schema (${problem}); the API may have changed: update nrf-provision.`,
    { cause, details: { method: request.method, path: request.url.pathname, problem } },
  );
}

/** An injected sleep knows no signal: it is raced against the abort. */
function sleepUnlessAborted(
  wait: (ms: number, signal?: AbortSignal) => Promise<void>,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (signal === undefined) return wait(ms);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      resolve();
    };
    signal.addEventListener("abort", done);
    wait(ms, signal).then(done, (error: unknown) => {
      signal.removeEventListener("abort", done);
      reject(error);
    });
  });
}
