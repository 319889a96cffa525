import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "hw/**/*.test.ts"],
    // serialport's native binding and child processes (socat) behave best in forked workers.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
