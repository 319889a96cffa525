import type { AtClient } from "../../at/index.js";
import { CommandDecodeError, decodeCommands, encodeResponses } from "./codec.js";
import { executeBatch } from "./execute.js";

// One provisioning session of the device's HTTP client (reference §3.3): a fresh credential
// for every request, poll, run, report, until 204 or an acknowledged `finished`.

export interface DeviceAgentOptions {
  /** The service's base URL including `/v1` (the device endpoints sit under it). */
  baseUrl: string;
  /**
   * `current`: JWT auth, `mver` = the full firmware string, `cver` = the NCS version, `limit`.
   * `legacy`: `Bearer att.<attestation token>`, numeric `mver`, `cver=1`, no `limit`.
   */
  client?: "current" | "legacy";
  /** CONFIG_NRF_PROVISIONING_CBOR_RECORDS (default 10): the most commands one batch may hold. */
  limit?: number;
  /** CONFIG_NRF_PROVISIONING_RX_BUF_SZ / TX_BUF_SZ (default 4096 each). */
  rxMaxSize?: number;
  txMaxSize?: number;
  /** `cver` of the current client (default `2.9.0`). */
  ncsVersion?: string;
  /** CONFIG_NRF_PROVISIONING_JWT_MAX_VALID_TIME_S (default 300). */
  jwtValiditySeconds?: number;
  /** Give up after this many batches in one session (default 20). */
  maxBatches?: number;
  /** How long to wait for network time after going back online (default 10 s; firmware 120 s). */
  networkTimeTimeoutMs?: number;
  fetch?: typeof fetch;
  log?: (level: "inf" | "wrn" | "err", text: string) => void;
}

export type SessionOutcome =
  | "finished"
  | "no-commands"
  | "not-claimed"
  | "no-valid-time"
  | "too-many-commands"
  | "failed";

export interface SessionResult {
  outcome: SessionOutcome;
  message: string;
  batches: number;
  /** Correlation IDs of the commands that ran successfully, in order. */
  succeeded: string[];
  /** Commands the device reported as failed (the service cancels the rest). */
  failures: Array<{ correlationId: string; cmeError: number; message: string }>;
  /** The `after` to start the next session from. */
  after: string;
}

interface Resolved extends Required<Omit<DeviceAgentOptions, "log" | "fetch">> {
  fetch: typeof fetch;
  log: (level: "inf" | "wrn" | "err", text: string) => void;
}

export function resolveAgentOptions(options: DeviceAgentOptions): Resolved {
  return {
    client: "current",
    limit: 10,
    rxMaxSize: 4096,
    txMaxSize: 4096,
    ncsVersion: "2.9.0",
    jwtValiditySeconds: 300,
    maxBatches: 20,
    networkTimeTimeoutMs: 10_000,
    ...options,
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    fetch: options.fetch ?? globalThis.fetch,
    log: options.log ?? (() => {}),
  };
}

class SessionStop extends Error {
  constructor(
    readonly outcome: SessionOutcome,
    message: string,
  ) {
    super(message);
  }
}

/** `AT%CCLK?` must answer before a JWT can be made (nrf_provisioning_jwt.c). */
async function hasNetworkTime(at: AtClient): Promise<boolean> {
  return at.send("AT%CCLK?").then(
    () => true,
    () => false,
  );
}

async function waitForNetworkTime(at: AtClient, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await hasNetworkTime(at)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The `Authorization` header: a fresh modem JWT (identity key), or the older clients' attestation token. */
async function authorization(at: AtClient, options: Resolved): Promise<string> {
  if (options.client === "legacy") {
    const response = await at.send("AT%ATTESTTOKEN", { responsePrefix: "%ATTESTTOKEN:" });
    const token = /"([^"]+)"/.exec(response.lines.join("\n"))?.[1];
    if (!token) throw new SessionStop("failed", "AT%ATTESTTOKEN gave no token");
    return `Bearer att.${token}`;
  }
  if (!(await waitForNetworkTime(at, options.networkTimeTimeoutMs))) {
    throw new SessionStop(
      "no-valid-time",
      "Modem does not have valid date/time, JWT not generated",
    );
  }
  const response = await at.send(`AT%JWT=0,${options.jwtValiditySeconds}`, {
    responsePrefix: "%JWT:",
  });
  const jwt = /"([^"]+)"/.exec(response.lines.join("\n"))?.[1];
  if (!jwt) throw new SessionStop("failed", "AT%JWT gave no token");
  // modem_jwt converts base64 to base64url and strips the padding.
  return `Bearer ${jwt.replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "")}`;
}

/** HTTP status → the client's result (reference §3.6). */
function refusal(status: number, what: string): SessionStop {
  if (status === 401 || status === 403)
    return new SessionStop(
      "not-claimed",
      `${what}: ${status}: device is not yet claimed (or wrong auth credentials)`,
    );
  if (status === 500)
    return new SessionStop("failed", `${what}: 500: the service is busy, back off`);
  if (status === 400) return new SessionStop("failed", `${what}: 400: invalid request`);
  return new SessionStop("failed", `${what}: unexpected HTTP ${status}`);
}

async function request(
  options: Resolved,
  url: string,
  init: { method: "GET" | "POST"; authorization: string; body?: Uint8Array },
): Promise<Response> {
  try {
    return await options.fetch(url, {
      method: init.method,
      headers: {
        authorization: init.authorization,
        "user-agent": "Zephyr/3.7 (nrf-provision-sim nrf9151dk)",
        connection: "close",
        ...(init.method === "GET"
          ? { accept: "application/cbor", "content-type": "*/*" }
          : { accept: "*/*", "content-type": "application/cbor" }),
      },
      body: init.body === undefined ? null : Buffer.from(init.body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new SessionStop("failed", `${init.method} ${url}: ${(error as Error).message}`);
  }
}

async function commandsUrl(at: AtClient, options: Resolved, after: string): Promise<string> {
  const firmware = (await at.send("AT+CGMR")).lines.find((line) => line.trim() !== "") ?? "";
  const query = new URLSearchParams({ after });
  query.set("rxMaxSize", String(options.rxMaxSize));
  query.set("txMaxSize", String(options.txMaxSize));
  if (options.client === "legacy") {
    query.set("mver", /(\d+\.\d+\.\d+)/.exec(firmware)?.[1] ?? firmware);
    query.set("cver", "1");
  } else {
    query.set("mver", firmware.trim());
    query.set("cver", options.ncsVersion);
    query.set("limit", String(options.limit));
  }
  return `${options.baseUrl}/provisioning/commands?${query}`;
}

/** One poll: the decoded batch, or null for 204 (no commands). */
async function fetchBatch(at: AtClient, options: Resolved, after: string) {
  const url = await commandsUrl(at, options, after);
  const response = await request(options, url, {
    method: "GET",
    authorization: await authorization(at, options),
  });
  if (response.status === 204) return null;
  if (response.status !== 200) throw refusal(response.status, "GET /v1/provisioning/commands");
  const body = new Uint8Array(await response.arrayBuffer());
  if (body.length > options.rxMaxSize)
    throw new SessionStop(
      "failed",
      `RX buffer too small: ${body.length} bytes > ${options.rxMaxSize}`,
    );
  try {
    return decodeCommands(body, options.client === "legacy" ? undefined : options.limit);
  } catch (error) {
    if (!(error instanceof CommandDecodeError)) throw error;
    throw new SessionStop(
      error.errno === "ENOMEM" ? "too-many-commands" : "failed",
      `cannot decode the commands: ${error.message}`,
    );
  }
}

/**
 * Runs one provisioning session on the modem behind `at`, as the firmware does after a trigger,
 * and says how it ended. Never throws for what the firmware would report as an event.
 */
export async function runProvisioningSession(
  at: AtClient,
  agentOptions: DeviceAgentOptions,
  state: { after: string; settings: Map<string, string> },
): Promise<SessionResult> {
  const options = resolveAgentOptions(agentOptions);
  const result: SessionResult = {
    outcome: "no-commands",
    message: "No commands to process on server side",
    batches: 0,
    succeeded: [],
    failures: [],
    after: state.after,
  };
  try {
    while (result.batches < options.maxBatches) {
      const commands = await fetchBatch(at, options, result.after);
      if (commands === null) return result;
      result.batches += 1;
      options.log("inf", `Received ${commands.length} commands`);
      const batch = await executeBatch(at, commands, {
        maxResponseBytes: 4096,
        settings: state.settings,
        log: (text) => options.log("inf", text),
      });
      const body = encodeResponses(batch.responses);
      if (body.length > options.txMaxSize)
        throw new SessionStop(
          "failed",
          `TX buffer too small: ${body.length} bytes > ${options.txMaxSize}`,
        );
      const posted = await request(options, `${options.baseUrl}/provisioning/response`, {
        method: "POST",
        authorization: await authorization(at, options),
        body,
      });
      if (posted.status !== 200) throw refusal(posted.status, "POST /v1/provisioning/response");
      for (const response of batch.responses)
        if (response.kind !== "error") result.succeeded.push(response.correlationId);
      if (batch.failure) result.failures.push(batch.failure);
      if (batch.lastSucceeded !== undefined) result.after = batch.lastSucceeded;
      if (batch.finished) {
        return { ...result, outcome: "finished", message: "Provisioning finished" };
      }
    }
    return { ...result, outcome: "failed", message: `gave up after ${options.maxBatches} batches` };
  } catch (error) {
    if (error instanceof SessionStop)
      return { ...result, outcome: error.outcome, message: error.message };
    return { ...result, outcome: "failed", message: (error as Error).message };
  } finally {
    state.after = result.after;
  }
}
