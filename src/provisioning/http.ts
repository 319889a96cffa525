import type { z } from "zod";
import { loadOnce, urlUnder, type ZodSchemaName } from "../cloud/context.js";
import { CloudError } from "../cloud/errors.js";
import { type Auth, type HttpOptions, type HttpRequest, sendRequest } from "../cloud/http.js";
import { ProvisioningError } from "./errors.js";

// The Provisioning Service's requests over the nRF Cloud client's HTTP layer (same retries,
// same secret redaction), with its responses checked by lazily loaded zod schemas.

type Schemas = typeof import("./schemas.js");
export type SchemaName = ZodSchemaName<Schemas>;
export type SchemaType<N extends SchemaName> = z.infer<Schemas[N]>;
const loadSchemas = loadOnce(() => import("./schemas.js"));

export interface ProvisioningRequest {
  method: HttpRequest["method"];
  path: string;
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  body?: string;
  contentType?: string;
  expect: readonly number[];
  /** The device UUID the request is about: its 401/403/404 then means "not claimed". */
  deviceUuid?: string;
}

/** Sends provisioning requests relative to one base URL with one API key. */
export class ProvisioningHttp {
  constructor(
    private readonly base: URL,
    private readonly auth: Auth,
    readonly options: HttpOptions,
  ) {}

  url(path: string, query: ProvisioningRequest["query"] = {}): URL {
    return urlUnder(this.base, path, query);
  }

  async send(request: ProvisioningRequest): Promise<{ status: number; text: string }> {
    const json = request.json === undefined ? undefined : JSON.stringify(request.json);
    const contentType =
      request.contentType ?? (json === undefined ? undefined : "application/json");
    const body = json ?? request.body;
    const http: HttpRequest = {
      method: request.method,
      url: this.url(request.path, request.query),
      auth: this.auth,
      body,
      contentType,
      expect: request.expect,
    };
    try {
      return await sendRequest(this.options, http);
    } catch (error) {
      throw notClaimed(error, request) ?? error;
    }
  }

  /** Sends and validates the answer against the named schema (its type is the result's). */
  async sendJson<N extends SchemaName>(
    request: ProvisioningRequest,
    schemaName: N,
  ): Promise<SchemaType<N>> {
    const response = await this.send(request);
    return this.parse(request, response.text, schemaName);
  }

  async parse<N extends SchemaName>(
    request: ProvisioningRequest,
    text: string,
    schemaName: N,
  ): Promise<SchemaType<N>> {
    const schema = (await loadSchemas())[schemaName] as unknown as z.ZodType<SchemaType<N>>;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw responseError(request, "is not JSON", cause);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw responseError(request, parsed.error.message, parsed.error);
    return parsed.data;
  }
}

export function responseError(
  request: ProvisioningRequest,
  problem: string,
  cause: unknown,
): ProvisioningError {
  return new ProvisioningError(
    "ERR_PROVISIONING_RESPONSE",
    `The Provisioning Service's answer to ${request.method} ${request.path} ${problem}; the service is beta and may have changed its format: report it with this message.`,
    { cause, details: { method: request.method, path: request.path } },
  );
}

/**
 * A device-scoped request refused with 401, 403 or 404: the service says so both for a device
 * no one claimed and for one another team claimed (reference §5.1), so the error names both.
 */
function notClaimed(error: unknown, request: ProvisioningRequest): ProvisioningError | null {
  if (request.deviceUuid === undefined || !(error instanceof CloudError)) return null;
  const status = error.details.status;
  if (status !== 401 && status !== 403 && status !== 404) return null;
  const said = typeof error.details.message === "string" ? error.details.message : "";
  return new ProvisioningError(
    "ERR_PROVISIONING_NOT_CLAIMED",
    `The Provisioning Service refused ${request.method} ${request.path} with HTTP ${status} (${said}): device ${request.deviceUuid} is not claimed by this team, or the API key may not manage it. Claim it first (nrf-provision claim --token …), or check NRF_CLOUD_API_KEY / --api-key.`,
    { cause: error, details: { status, deviceUuid: request.deviceUuid, message: said } },
  );
}
