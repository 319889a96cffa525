import type { IncomingMessage, ServerResponse } from "node:http";
import { CsvValidationError } from "./validate.js";

const CSV_CONTENT_TYPES = new Set([
  "text/csv",
  "text/plain",
  "text/plain;charset=utf8",
  "text/plain;charset=ascii",
  "application/octet-stream",
]);
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** An answer other than success: status, nRF error code, message. */
export class SimHttpError extends Error {
  constructor(
    readonly status: number,
    readonly nrfCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface Answer {
  status: number;
  json?: unknown;
  text?: string;
}

/** One endpoint: method, path pattern (its groups are the params), handler. */
export type Route = [
  method: string,
  pattern: RegExp,
  handler: (
    request: IncomingMessage,
    params: string[],
    body: string,
    url: URL,
  ) => Promise<Answer> | Answer,
];

/** The first route whose path and method match; 405 when only the path does, else 404. */
export function routeRequest(
  routes: readonly Route[],
  request: IncomingMessage,
  url: URL,
  body: string,
): Promise<Answer> | Answer {
  let pathMatched = false;
  for (const [method, pattern, handler] of routes) {
    const match = pattern.exec(url.pathname);
    if (!match) continue;
    pathMatched = true;
    if (method !== request.method) continue;
    return handler(request, match.slice(1).map(decodeURIComponent), body, url);
  }
  throw pathMatched
    ? new SimHttpError(405, 40500, `Method ${request.method} not allowed on ${url.pathname}`)
    : new SimHttpError(404, 40420, `No resource at ${url.pathname}`);
}

export function writeAnswer(response: ServerResponse, answer: Answer): void {
  if (answer.json !== undefined) {
    response.writeHead(answer.status, { "content-type": "application/json" });
    response.end(JSON.stringify(answer.json));
    return;
  }
  response.writeHead(
    answer.status,
    answer.text === undefined ? {} : { "content-type": "text/plain" },
  );
  response.end(answer.text);
}

export function errorAnswer(
  error: unknown,
  response: ServerResponse,
): { status: number; json: unknown } {
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

export function bearer(request: IncomingMessage): string | null {
  const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? "");
  return match?.[1] ?? null;
}

export function requireCsv(request: IncomingMessage): void {
  const type = (request.headers["content-type"] ?? "").toLowerCase().replaceAll(" ", "");
  if (!CSV_CONTENT_TYPES.has(type)) {
    throw new SimHttpError(
      400,
      40000,
      `Content-Type ${type || "(none)"} is not accepted for CSV uploads`,
    );
  }
}

export function parseJsonBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new SimHttpError(400, 40000, "The body is not valid JSON");
  }
}

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new SimHttpError(413, 41300, "Body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
