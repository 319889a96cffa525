// The store: where the CA ledger and the station journal live. Files on one station PC (the
// default), or PostgreSQL shared by every station of a production line (issue 14).
import type { LineStatus } from "../line/status.js";
import type { PgStore } from "./postgres/store.js";

export { StoreError } from "./errors.js";
export { FileStore } from "./file.js";
export { openLineStore, openStore, STORE_ENV } from "./open.js";
export { Database, isTransient, redactUrl } from "./postgres/database.js";
export type { ExportedDevice } from "./postgres/line.js";
export type { Migration, SchemaState } from "./postgres/migrate.js";
export { PgStore, type PgStoreOptions } from "./postgres/store.js";
export type { ProvisionStore, StationStore, StationStoreOptions } from "./types.js";

/** The line as the store knows it now (what `line status --json` prints and the dashboard draws). */
export function readLineStatus(store: PgStore): Promise<LineStatus> {
  return store.readLineStatus();
}
