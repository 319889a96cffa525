import { StoreError } from "./errors.js";
import { FileStore } from "./file.js";
import type { PgStore, PgStoreOptions } from "./postgres/store.js";
import type { ProvisionStore } from "./types.js";

/** The environment variable naming the store when --store is not given. */
export const STORE_ENV = "NRF_PROVISION_STORE";

/**
 * The store named by `--store` (or NRF_PROVISION_STORE): a postgres:// URL, or nothing (or
 * "file") for the files. ERR_STORE_URL for anything else.
 */
export async function openStore(
  url: string | undefined,
  env: Readonly<Record<string, string | undefined>> = {},
  options: PgStoreOptions = {},
): Promise<ProvisionStore> {
  const chosen = url ?? env[STORE_ENV];
  if (chosen === undefined || chosen === "" || chosen === "file") return new FileStore();
  if (/^postgres(ql)?:\/\//.test(chosen)) {
    const { PgStore } = await import("./postgres/store.js");
    return new PgStore(chosen, options);
  }
  throw new StoreError(
    "ERR_STORE_URL",
    `--store must be a postgres://user@host:port/database URL (or "file"), got "${chosen.replace(/:[^:@/]*@/, ":***@")}".`,
    { details: {} },
  );
}

/** The line's shared store, or ERR_STORE_URL: the line commands need PostgreSQL. */
export async function openLineStore(
  url: string | undefined,
  env: Readonly<Record<string, string | undefined>> = {},
  options: PgStoreOptions = {},
): Promise<PgStore> {
  const store = await openStore(url, env, options);
  if (store.kind === "postgres") return store as PgStore;
  throw new StoreError(
    "ERR_STORE_URL",
    `The line commands need the line's PostgreSQL: give --store postgres://user@host:port/database or set ${STORE_ENV}.`,
  );
}
