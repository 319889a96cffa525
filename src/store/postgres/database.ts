import pg from "pg";
import { StoreError } from "../errors.js";

/** What a query runs on: the pool (one statement) or a transaction's client. */
export interface Queryable {
  query<Row extends object = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<Row[]>;
}

export interface DatabaseOptions {
  /** How long an operation keeps retrying while the database is unreachable (120 s). */
  retryForMs?: number;
  /** Told once per outage, when the first retry starts, and when the database answers again. */
  onOutage?: (event: { type: "unavailable"; message: string } | { type: "available" }) => void;
  /**
   * Connections at most (default 2). Each connection is a server process that builds its
   * caches from nothing, and on a line of several stations ten each cost the server more CPU
   * than all the boards' statements; a station's boards share them well, since the journal
   * writes what they record at once in one statement. Two, so one slow statement or
   * transaction does not hold up the rest.
   */
  maxConnections?: number;
}

/** Connection-level failures worth waiting out: the server restarting or the network gone. */
const TRANSIENT_ERRNO = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
]);
const TRANSIENT_SQLSTATE = /^(08...|57P0[123]|53300)$/;

export function isTransient(error: unknown): boolean {
  const { code, message } = error as { code?: string; message?: string };
  if (code !== undefined && (TRANSIENT_ERRNO.has(code) || TRANSIENT_SQLSTATE.test(code)))
    return true;
  return /Connection terminated|connection timeout|Connection closed|connection error|not queryable/i.test(
    message ?? "",
  );
}

/**
 * The PostgreSQL connection pool, with what the line needs around it: every operation retried
 * while the database is unreachable (a restart, a network drop) for up to `retryForMs`, and
 * the round trips and milliseconds spent counted (`line status`, the benchmark). Operations
 * must be idempotent, since one cut at COMMIT may have committed.
 */
export class Database {
  readonly url: string;
  readonly #pool: pg.Pool;
  readonly #options: DatabaseOptions;
  #roundTrips = 0;
  #ms = 0;
  #outage = false;

  constructor(url: string, options: DatabaseOptions = {}) {
    this.url = url;
    this.#options = options;
    this.#pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 2,
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
      idleTimeoutMillis: 30_000,
    });
    // An idle connection cut by a restart is reported here; the next query reconnects.
    this.#pool.on("error", () => {});
  }

  get stats(): { roundTrips: number; ms: number } {
    return { roundTrips: this.#roundTrips, ms: this.#ms };
  }

  /** One statement (one round trip), retried while the database is unreachable. */
  query<Row extends object = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<Row[]> {
    return this.#retrying(async () => {
      // Waiting for a free connection is not database time; the statement itself is.
      const client = await this.#pool.connect();
      let broken: unknown;
      try {
        return await this.#timed(client, text, values);
      } catch (error) {
        broken = isTransient(error) ? error : undefined;
        throw error;
      } finally {
        client.release(broken instanceof Error ? broken : undefined);
      }
    }) as Promise<Row[]>;
  }

  /** Runs `work` in one transaction; the whole transaction is retried after a lost connection. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.#retrying(async () => {
      const client = await this.#pool.connect();
      const tx: Queryable = {
        query: (text, values) => this.#timed(client, text, values) as never,
      };
      let broken: unknown;
      try {
        await tx.query("BEGIN");
        const result = await work(tx);
        await tx.query("COMMIT");
        return result;
      } catch (error) {
        broken = isTransient(error) ? error : undefined;
        if (broken === undefined) await tx.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.release(broken instanceof Error ? broken : undefined);
      }
    });
  }

  async close(): Promise<void> {
    await this.#pool.end().catch(() => {});
  }

  async #timed(on: pg.Pool | pg.PoolClient, text: string, values?: unknown[]): Promise<unknown[]> {
    const started = performance.now();
    this.#roundTrips++;
    try {
      return (await on.query(text, values)).rows;
    } finally {
      this.#ms += performance.now() - started;
    }
  }

  async #retrying<T>(operation: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + (this.#options.retryForMs ?? 120_000);
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await operation();
        if (this.#outage) {
          this.#outage = false;
          this.#options.onOutage?.({ type: "available" });
        }
        return result;
      } catch (error) {
        if (!isTransient(error)) throw queryError(error);
        if (Date.now() >= deadline) throw unavailable(this.url, error);
        if (!this.#outage) {
          this.#outage = true;
          this.#options.onOutage?.({ type: "unavailable", message: (error as Error).message });
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 100 * 2 ** attempt)));
      }
    }
  }
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(invalid URL)";
  }
}

function unavailable(url: string, error: unknown): StoreError {
  return new StoreError(
    "ERR_STORE_UNAVAILABLE",
    `The line's database ${redactUrl(url)} did not answer (${(error as Error).message}). Check that PostgreSQL is running and reachable from this station, then run again: what was recorded so far is kept.`,
    { cause: error, details: { url: redactUrl(url) } },
  );
}

function queryError(error: unknown): unknown {
  if (error instanceof StoreError) return error;
  const { code } = error as { code?: string };
  if (code === "42P01" || code === "42703") {
    return new StoreError(
      "ERR_STORE_SCHEMA",
      `The line's database has not got the schema this nrf-provision needs (${(error as Error).message}). Run "nrf-provision line db migrate --store URL" once, then run again.`,
      { cause: error },
    );
  }
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) {
    return new StoreError(
      "ERR_STORE_QUERY",
      `The line's database refused a statement (${code}: ${(error as Error).message}).`,
      { cause: error, details: { sqlstate: code } },
    );
  }
  return error;
}
