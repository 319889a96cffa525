import { execFile } from "node:child_process";
import { chmod, chown, mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

/**
 * A throwaway PostgreSQL cluster for one test file: initdb + pg_ctl in a temporary folder, on a
 * free TCP port of 127.0.0.1, trust authentication. Started as the `postgres` user when the
 * tests run as root (PostgreSQL refuses to run as root). One per test file; a fresh database
 * per test (`createDatabase`).
 */
export interface PgCluster {
  readonly port: number;
  readonly dir: string;
  /** postgres://postgres@127.0.0.1:PORT/NAME */
  url(database: string): string;
  createDatabase(prefix?: string): Promise<string>;
  /** Stops the server (fast mode: connections are cut) and starts it again. */
  restart(options?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export async function findPgBin(): Promise<string> {
  const base = "/usr/lib/postgresql";
  const versions = (await readdir(base).catch(() => [] as string[])).sort(
    (a, b) => Number(b) - Number(a),
  );
  for (const version of versions) {
    const bin = join(base, version, "bin");
    if ((await readdir(bin).catch(() => [] as string[])).includes("initdb")) return bin;
  }
  throw new Error(
    "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); .ci/run installs it",
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

export interface PgClusterOptions {
  /**
   * Configured as a user's server would be: fsync on (the default of initdb's configuration),
   * so every commit waits for its WAL to reach the disk. The benchmark needs this to measure
   * what a line costs; the tests (default off) only need the behaviour, and run faster without
   * flushing on a machine shared by many test files.
   */
  durable?: boolean;
}

export async function startPgCluster({
  durable = false,
}: PgClusterOptions = {}): Promise<PgCluster> {
  const bin = await findPgBin();
  const dir = await mkdtemp(join(tmpdir(), "nrf-provision-pg-"));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  await chmod(dir, 0o700);
  const data = join(dir, "data");
  const port = await freePort();
  const pgRun = (tool: string, args: string[]) =>
    asRoot
      ? run("runuser", ["-u", "postgres", "--", join(bin, tool), ...args])
      : run(join(bin, tool), args);
  await pgRun("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1${durable ? "" : " -c fsync=off"} -c max_connections=200`;
  const start = () =>
    pgRun("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-o", options, "-w", "-t", "60", "start"]);
  const stop = () => pgRun("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
  await start();
  let databases = 0;
  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    port,
    dir,
    url,
    async createDatabase(prefix = "t") {
      const name = `${prefix}_${process.pid}_${++databases}`;
      const client = new pg.Client({ connectionString: url("postgres") });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return name;
    },
    async restart({ downMs = 0 } = {}) {
      await stop();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    stop: async () => {
      await stop();
    },
    start: async () => {
      await start();
    },
    async destroy() {
      await stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
