import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

/**
 * Starts src/ca/batch-worker.ts in a worker thread for tests run from source (vitest): the
 * worker registers tsx's loader first, then imports the TypeScript module.
 */
export function startBatchWorkerFromSource(): Worker {
  // require.resolve gives the CommonJS build; its ESM sibling is the one that registers correctly.
  const loader = createRequire(import.meta.url)
    .resolve("tsx/esm/api")
    .replace(/\.cjs$/, ".mjs");
  const worker = new URL("../../src/ca/batch-worker.ts", import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(pathToFileURL(loader).href)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(worker)}); });`;
  return new Worker(bootstrap, { eval: true });
}
