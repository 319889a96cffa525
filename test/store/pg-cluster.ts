// The throwaway PostgreSQL cluster lives beside the benchmarks (scripts/), which must not import
// from test/; the store tests use it from here.
import { afterAll, beforeAll } from "vitest";
import { type PgCluster, startPgCluster } from "../../scripts/pg-cluster.js";

export * from "../../scripts/pg-cluster.js";

/** A throwaway cluster for one test file: started before its tests, destroyed after them. */
export function usePgCluster(): () => PgCluster {
  let cluster: PgCluster | undefined;
  beforeAll(async () => {
    cluster = await startPgCluster();
  }, 120_000);
  afterAll(async () => {
    await cluster?.destroy();
  });
  return () => {
    if (cluster === undefined) throw new Error("the PostgreSQL cluster is not started yet");
    return cluster;
  };
}
