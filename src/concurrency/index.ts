/** Bounded concurrency: the one helper every layer uses to run work at most N at a time. */
export { mapWithConcurrency, TaskPool } from "./task-pool.js";
