// The throwaway PostgreSQL cluster lives beside the benchmarks (scripts/), which must not import
// from test/; the store tests use it from here.
export * from "../../scripts/pg-cluster.js";
