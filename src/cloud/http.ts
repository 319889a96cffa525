import { CloudError } from "./errors.js";

export interface RetryOptions {
  /** Attempts in total, the first included (default 5). */
  maxAttempts?: number;
  /** Backoff base: attempt n waits random(0, min(max, base·2ⁿ)) (default 500 ms). */
  baseDelayMs?: number;
  /** Backoff cap, also the cap on a server's Retry-After (default 30 s). */
  maxDelayMs?: number;
  /** Source of jitter in [0, 1) (default Math.random). */
  random?: () => number;
  /** How to wait (injected so tests can record the delays). */
  sleep?: (ms: number) => Promise<void>;
}

export interface HttpOptions {
  fetch: typeof fetch;
  timeoutMs: number;
  retry: Required<RetryOptions>;
  userAgent: string;
  now: () => number;
}

export type Auth =
  | { kind: "api-key"; apiKey: string | undefined }
  | { kind: "bearer"; token: string }
  | { kind: "none" };

export interface HttpRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: URL;
  auth: Auth;
  body?: string | undefined;
  contentType?: string | undefined;
  headers?: Record<string, string>;
  /** Statuses that mean success for this endpoint. */
  expect: readonly number[];
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** Waits `ms`, or less when `signal` aborts (its timer is then cleared, so nothing lingers). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done);
  });
}

/** Parses `Retry-After` (delta seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** What the error names: method and path, never query strings (pre-signed URLs) or tokens. */
function describeTarget(request: HttpRequest): { method: string; path: string } {
  return { method: request.method, path: request.url.pathname };
}

function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * A POST creates something (a bulk job, a device): sent again only when it provably was not
 * carried out. A 429 refuses the request unprocessed; a 5xx or a broken connection may come
 * after the server acted on it (a second OnboardDevices would make a second bulk job).
 */
function mayResend(
  request: HttpRequest,
  outcome: { status: number } | { error: unknown },
): boolean {
  if (request.method !== "POST") return true;
  return "status" in outcome ? outcome.status === 429 : neverConnected(outcome.error);
}

/** The connection was never made, so nothing was sent (DNS failure, refused, unreachable). */
function neverConnected(error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown } })?.cause?.code;
  return (
    typeof code === "string" &&
    ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"].includes(code)
  );
}

/**
 * Sends one request, retrying 429/5xx/network errors with exponential backoff and full
 * jitter (honouring Retry-After); any other non-expected status fails at once.
 */
export async function sendRequest(
  options: HttpOptions,
  request: HttpRequest,
): Promise<HttpResponse> {
  const { retry } = options;
  const target = describeTarget(request);
  const headers = buildHeaders(options, request);
  for (let attempt = 0; ; attempt += 1) {
    const lastAttempt = attempt + 1 >= retry.maxAttempts;
    const backoff = () =>
      retry.random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** attempt);
    let response: Response;
    try {
      response = await options.fetch(request.url, {
        method: request.method,
        headers,
        body: request.body ?? null,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      if (isTimeout(error)) {
        throw new CloudError(
          "ERR_CLOUD_TIMEOUT",
          `nRF Cloud did not answer ${target.method} ${target.path} within ${options.timeoutMs} ms; check the network or raise the timeout with --http-timeout <seconds>.`,
          { cause: error, details: { ...target, timeoutMs: options.timeoutMs } },
        );
      }
      if (lastAttempt || !mayResend(request, { error })) {
        const maybeDone = request.method === "POST" && !neverConnected(error);
        throw new CloudError(
          "ERR_CLOUD_NETWORK",
          `Could not reach nRF Cloud for ${target.method} ${target.path} (${attempt + 1} attempts): ${errorText(error)}. ${maybeDone ? "It may have arrived, so it was not sent again: check (e.g. cloud bulk-status) before sending it again." : "Check the base URL and the network."}`,
          { cause: error, details: { ...target, attempts: attempt + 1 } },
        );
      }
      await retry.sleep(backoff());
      continue;
    }
    const text = await readText(response, options, target);
    if (request.expect.includes(response.status)) {
      return { status: response.status, headers: response.headers, text };
    }
    const said = redactSecrets(text, secretsOf(request));
    if (retryable(response.status) && !lastAttempt && mayResend(request, response)) {
      const retryAfter = parseRetryAfter(response.headers.get("retry-after"), options.now());
      await retry.sleep(retryAfter === null ? backoff() : Math.min(retryAfter, retry.maxDelayMs));
      continue;
    }
    const mayHaveActed = response.status >= 500 && !mayResend(request, response);
    throw httpError(response.status, said, target, attempt + 1, mayHaveActed);
  }
}

function buildHeaders(options: HttpOptions, request: HttpRequest): Record<string, string> {
  const headers: Record<string, string> = {
    accept: "application/json",
    "user-agent": options.userAgent,
    ...request.headers,
  };
  if (request.contentType) headers["content-type"] = request.contentType;
  if (request.auth.kind === "api-key") {
    if (!request.auth.apiKey) {
      throw new CloudError(
        "ERR_CLOUD_CONFIG",
        `No nRF Cloud API key for ${request.method} ${request.url.pathname}: set NRF_CLOUD_API_KEY or pass --api-key.`,
        { details: describeTarget(request) },
      );
    }
    headers.authorization = `Bearer ${request.auth.apiKey}`;
  } else if (request.auth.kind === "bearer") {
    headers.authorization = `Bearer ${request.auth.token}`;
  }
  return headers;
}

async function readText(
  response: Response,
  options: HttpOptions,
  target: { method: string; path: string },
): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    const code = isTimeout(error) ? "ERR_CLOUD_TIMEOUT" : "ERR_CLOUD_NETWORK";
    throw new CloudError(
      code,
      `The response to ${target.method} ${target.path} broke off: ${errorText(error)} (timeout ${options.timeoutMs} ms).`,
      { cause: error, details: { ...target, status: response.status } },
    );
  }
}

function httpError(
  status: number,
  text: string,
  target: { method: string; path: string },
  attempts: number,
  mayHaveActed = false,
): CloudError {
  const { nrfErrorCode, message } = parseErrorBody(text);
  const details = { status, nrfErrorCode, message, ...target, attempts };
  const said = `HTTP ${status}${nrfErrorCode === null ? "" : ` (nRF Cloud error ${nrfErrorCode})`}: ${message}`;
  const where = `${target.method} ${target.path}`;
  if (status === 401 || status === 403) {
    return new CloudError(
      "ERR_CLOUD_AUTH",
      `nRF Cloud refused ${where}, ${said}. Check the API key (NRF_CLOUD_API_KEY / --api-key) or the device JWT and its key.`,
      { details },
    );
  }
  if (status === 409 || status === 412) {
    return new CloudError(
      "ERR_CLOUD_CONFLICT",
      `nRF Cloud reported a conflict for ${where}, ${said}. Re-read the device (version, certificate) and retry.`,
      { details },
    );
  }
  const next = mayHaveActed
    ? "it was not retried, as nRF Cloud may have carried it out: check (e.g. cloud bulk-status, cloud device get) before sending it again"
    : status === 429 || status >= 500
      ? `gave up after ${attempts} attempts; try again later`
      : "fix the request; it was not retried";
  return new CloudError("ERR_CLOUD_HTTP", `nRF Cloud answered ${where} with ${said}; ${next}.`, {
    details,
  });
}

/** The most characters of a server's error text that any message or --json output carries. */
export const MAX_ERROR_TEXT = 500;

/** `{code, message}`, or a JSON array of strings, or raw text (reference §6); at most 500 characters. */
export function parseErrorBody(text: string): { nrfErrorCode: number | null; message: string } {
  const { nrfErrorCode, message } = errorBodyParts(text);
  return { nrfErrorCode, message: bounded(message) };
}

function errorBodyParts(text: string): { nrfErrorCode: number | null; message: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { nrfErrorCode: null, message: text.trim() || "(empty body)" };
  }
  if (Array.isArray(json)) {
    // Only as many items as can show: a 30 MB array must not be joined whole.
    const items: string[] = [];
    let length = 0;
    for (const item of json) {
      if (length > MAX_ERROR_TEXT) break;
      const line = typeof item === "string" ? item : JSON.stringify(item);
      items.push(line);
      length += line.length + 2;
    }
    return { nrfErrorCode: null, message: items.join("; ") };
  }
  const body = errorBodyOf(json);
  if (body) {
    return { nrfErrorCode: body.code ?? null, message: body.message ?? text };
  }
  return { nrfErrorCode: null, message: text };
}

function bounded(text: string): string {
  return text.length <= MAX_ERROR_TEXT
    ? text
    : `${text.slice(0, MAX_ERROR_TEXT)}… (${text.length - MAX_ERROR_TEXT} more characters cut)`;
}

/** The credentials a request carries: never to be repeated in anything we print. */
function secretsOf(request: HttpRequest): string[] {
  if (request.auth.kind === "api-key") return request.auth.apiKey ? [request.auth.apiKey] : [];
  if (request.auth.kind === "bearer") return [request.auth.token];
  return [];
}

const PRIVATE_KEY_PEM =
  /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[^-]*(-----END [A-Z ]*PRIVATE KEY-----)?/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;

/**
 * Server text with the request's credentials, any Authorization value and any private key
 * (also JSON-escaped) replaced by "[redacted]": a server or proxy that echoes the request must
 * not put the API key in an error message, a log or --json output.
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= 4) result = result.split(secret).join("[redacted]");
  }
  return result.replace(PRIVATE_KEY_PEM, "[private key redacted]").replace(BEARER, "$1 [redacted]");
}

/**
 * The error body nRF Cloud sends, `{code?: number, message?: string}` (SDK
 * `nrf_cloud_rest_error_decode` reads these keys), or null for anything else.
 */
function errorBodyOf(
  json: unknown,
): { code?: number | undefined; message?: string | undefined } | null {
  if (typeof json !== "object" || json === null) return null;
  const { code, message } = json as { code?: unknown; message?: unknown };
  if (code !== undefined && typeof code !== "number") return null;
  if (message !== undefined && typeof message !== "string") return null;
  return { code, message };
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return `${error.message}${cause}`;
  }
  return String(error);
}
