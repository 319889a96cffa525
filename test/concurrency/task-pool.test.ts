import { describe, expect, it } from "vitest";
import { mapWithConcurrency, TaskPool } from "../../src/concurrency/index.js";

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("TaskPool", () => {
  it("never runs more than its limit, keeps going after a failure, and reports idle", async () => {
    const pool = new TaskPool(2);
    let running = 0;
    let peak = 0;
    const finished: number[] = [];
    for (let i = 0; i < 6; i++) {
      pool.submit(async () => {
        running++;
        peak = Math.max(peak, running);
        await nextTurn();
        running--;
        if (i === 1) throw new Error("board 1 failed");
        finished.push(i);
      });
    }
    await pool.idle();
    expect(peak).toBe(2);
    expect(finished).toEqual([0, 2, 3, 4, 5]);
  });

  it("refuses a limit that is not a positive integer", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new TaskPool(bad)).toThrow(RangeError);
  });

  it("is idle at once when nothing was submitted", async () => {
    await expect(new TaskPool(1).idle()).resolves.toBeUndefined();
  });
});

describe("mapWithConcurrency", () => {
  it("keeps the order of its input and never exceeds the limit", async () => {
    let running = 0;
    let peak = 0;
    const out = await mapWithConcurrency([5, 1, 4, 2, 3], 2, async (n, index) => {
      running++;
      peak = Math.max(peak, running);
      for (let turn = 0; turn < n; turn++) await nextTurn();
      running--;
      return `${index}:${n * 10}`;
    });
    expect(out).toEqual(["0:50", "1:10", "2:40", "3:20", "4:30"]);
    expect(peak).toBe(2);
  });

  it("rejects with the first failure after the started calls end, and starts no more", async () => {
    const started: number[] = [];
    let settled = 0;
    const run = mapWithConcurrency([0, 1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      if (n === 1) {
        settled++;
        throw new Error("item 1 failed");
      }
      await nextTurn();
      settled++;
      return n;
    });
    await expect(run).rejects.toThrow("item 1 failed");
    expect(started).toEqual([0, 1]);
    expect(settled).toBe(started.length);
  });

  it("returns an empty array for no items", async () => {
    await expect(mapWithConcurrency([], 3, async () => 1)).resolves.toEqual([]);
  });
});
