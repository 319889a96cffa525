import { readdir, readFile } from "node:fs/promises";
import type { Database } from "./database.js";

/** The numbered SQL files next to this module (copied into dist/ by the build). */
const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export interface SchemaState {
  /** Versions applied in the database, in order. */
  applied: number[];
  /** Versions this nrf-provision has that the database lacks. */
  pending: Migration[];
  current: boolean;
}

/** The migrations shipped with this nrf-provision, ordered by their number. */
export async function shippedMigrations(): Promise<Migration[]> {
  const names = (await readdir(MIGRATIONS_DIR)).filter((name) => /^\d+_[\w-]+\.sql$/.test(name));
  const migrations = await Promise.all(
    names.map(async (name) => ({
      version: Number.parseInt(name, 10),
      name,
      sql: await readFile(new URL(name, MIGRATIONS_DIR), "utf8"),
    })),
  );
  return migrations.sort((a, b) => a.version - b.version);
}

const LEDGER_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/** Which shipped migrations the database has (no changes made). */
export async function checkSchema(db: Database): Promise<SchemaState> {
  const [exists] = await db.query<{ present: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS present",
  );
  const applied = exists?.present
    ? (
        await db.query<{ version: number }>(
          "SELECT version FROM schema_migrations ORDER BY version",
        )
      ).map((row) => row.version)
    : [];
  const pending = (await shippedMigrations()).filter((m) => !applied.includes(m.version));
  return { applied, pending, current: pending.length === 0 };
}

/**
 * Applies the shipped migrations the database lacks, each in its own transaction together with
 * its row in schema_migrations; an advisory lock keeps two stations migrating at once in line.
 * Running it again changes nothing. Returns the versions applied now.
 */
export async function migrate(db: Database): Promise<Migration[]> {
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('nrf-provision migrate'))");
    await tx.query(LEDGER_TABLE);
    const done = new Set(
      (await tx.query<{ version: number }>("SELECT version FROM schema_migrations")).map(
        (r) => r.version,
      ),
    );
    const applied: Migration[] = [];
    for (const migration of await shippedMigrations()) {
      if (done.has(migration.version)) continue;
      await tx.query(migration.sql);
      await tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
        migration.version,
        migration.name,
      ]);
      applied.push(migration);
    }
    return applied;
  });
}
