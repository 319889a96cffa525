import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "hw/**/*.test.ts"],
    // serialport's native binding and child processes (socat) behave best in forked workers.
    pool: "forks",
    // Most test files wait on child processes (the CLI, simulators, socat, PostgreSQL, chromium),
    // not on a core. Vitest's default (cores minus one) ran this suite on one worker on a 2-core
    // machine, about 11 min; three workers keep both cores busy.
    maxWorkers: 3,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
