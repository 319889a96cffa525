/**
 * Runs submitted tasks with at most `limit` at a time, in submission order. Tasks can keep
 * arriving while others run (the station's --watch mode); `idle()` waits for all of them.
 * A task's failure is its own business: the pool never stops for it.
 */
export class TaskPool {
  private readonly waiting: Array<() => Promise<void>> = [];
  private running = 0;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${limit}`);
    }
  }

  /** Number of tasks started and not finished yet. */
  get active(): number {
    return this.running;
  }

  /** Number of tasks waiting for a free slot. */
  get queued(): number {
    return this.waiting.length;
  }

  submit(task: () => Promise<void>): void {
    this.waiting.push(task);
    this.startNext();
  }

  /** Resolves once nothing is running or waiting. */
  idle(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private startNext(): void {
    while (this.running < this.limit) {
      const task = this.waiting.shift();
      if (task === undefined) break;
      this.running++;
      task()
        .catch(() => {}) // tasks report their own failures; the pool only schedules
        .finally(() => {
          this.running--;
          this.startNext();
          if (this.running === 0 && this.waiting.length === 0) {
            for (const resolve of this.idleWaiters.splice(0)) resolve();
          }
        });
    }
  }
}

/**
 * Maps `items` through `fn` with at most `limit` calls in flight, on a {@link TaskPool}.
 * Results keep the order of `items`; the first failure rejects once every started call ended.
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const pool = new TaskPool(limit);
  const results = new Array<R>(items.length);
  const failures: unknown[] = [];
  items.forEach((item, index) => {
    pool.submit(async () => {
      if (failures.length > 0) return; // stop starting new work after a failure
      try {
        results[index] = await fn(item, index);
      } catch (error) {
        failures.push(error);
      }
    });
  });
  await pool.idle();
  if (failures.length > 0) throw failures[0];
  return results;
}
