import { randomUUID } from "node:crypto";
import type { OnboardingRow } from "../../cloud/index.js";
import type {
  LineUploadQueue,
  QueuedRow,
  RowOutcome,
  RowResult,
  TakenJob,
} from "../../pipeline/line-uploads.js";
import type { Database, Queryable } from "./database.js";
import { aliveSql, type LineTiming } from "./stations.js";

interface JobRow {
  device_id: string;
  sha256_fingerprint: string;
  onboarding_row: OnboardingRow;
}

/**
 * The line's onboarding queue (`uploads`, `upload_rows`, migrations/002_uploads.sql). Rows are
 * taken with `FOR UPDATE SKIP LOCKED` in the transaction that creates their job, so two
 * stations flushing at once take disjoint rows: a row goes out in exactly one job.
 */
export class PgUploadQueue implements LineUploadQueue {
  readonly #db: Database;
  readonly #stationId: string;
  readonly #timing: LineTiming;

  constructor(db: Database, stationId: string, timing: LineTiming) {
    this.#db = db;
    this.#stationId = stationId;
    this.#timing = timing;
  }

  /** One round trip: the row in (a failed one pending again), and the line's pending count. */
  async enqueue({ row, fingerprint }: QueuedRow): Promise<{ linePending: number }> {
    const [result] = await this.#db.query<{ pending: string }>(
      `WITH added AS (
         INSERT INTO upload_rows (device_id, sha256_fingerprint, onboarding_row, enqueued_by)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (device_id, sha256_fingerprint) DO UPDATE
           SET state = 'pending', upload_id = NULL, job_row = NULL, error = NULL,
               onboarding_row = $3, enqueued_by = $4, updated_at = now()
           WHERE upload_rows.state = 'failed'
         RETURNING 1)
       SELECT (SELECT count(*) FROM upload_rows WHERE state = 'pending')
            + (SELECT count(*) FROM added) AS pending`,
      [row.deviceId, fingerprint, JSON.stringify(row), this.#stationId],
    );
    return { linePending: Number(result?.pending ?? 0) };
  }

  /**
   * Takes the line's oldest pending rows (up to `limit`, skipping rows another station is
   * taking right now) into a new job, in one transaction. The job ID is chosen here, so a
   * transaction retried after a lost COMMIT returns the job it made instead of a second one.
   */
  take(limit: number): Promise<TakenJob | undefined> {
    const jobId = randomUUID();
    return this.#db.transaction(async (tx) => {
      const made = await jobRows(tx, jobId);
      if (made.length > 0) return toJob(jobId, made);
      const rows = await tx.query<JobRow>(
        `WITH locked AS (
           SELECT id FROM upload_rows WHERE state = 'pending'
           ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED),
         picked AS (SELECT id, (row_number() OVER (ORDER BY id) - 1)::int AS job_row FROM locked),
         job AS (
           INSERT INTO uploads (id, station_id) SELECT $1, $3 WHERE EXISTS (SELECT 1 FROM picked)
           RETURNING id)
         UPDATE upload_rows r SET state = 'sending', upload_id = job.id, job_row = picked.job_row,
           updated_at = now()
         FROM picked, job WHERE r.id = picked.id
         RETURNING r.device_id, r.sha256_fingerprint, r.onboarding_row, r.job_row`,
        [jobId, limit, this.#stationId],
      );
      if (rows.length === 0) return undefined;
      return toJob(jobId, sortByJobRow(rows));
    });
  }

  async submitted(jobId: string, bulkOpsRequestId: string): Promise<void> {
    await this.#db.query(
      `UPDATE uploads SET state = 'submitted', bulk_ops_request_id = $2, submitted_at = now()
       WHERE id = $1`,
      [jobId, bulkOpsRequestId],
    );
  }

  /** Each row's result and the job's end, in one statement. */
  async finished(jobId: string, results: RowResult[], error?: string): Promise<void> {
    await this.#db.query(
      `WITH result AS (
         SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) AS t(device_id, fingerprint, error)),
       rows AS (
         UPDATE upload_rows r
         SET state = CASE WHEN result.error IS NULL THEN 'onboarded' ELSE 'failed' END,
             error = result.error, updated_at = now()
         FROM result
         WHERE r.upload_id = $1 AND r.device_id = result.device_id
           AND r.sha256_fingerprint = result.fingerprint AND r.state = 'sending')
       UPDATE uploads SET state = 'done', finished_at = now(), error = $5 WHERE id = $1`,
      [
        jobId,
        results.map((r) => r.deviceId),
        results.map((r) => r.fingerprint),
        results.map((r) => r.error ?? null),
        error ?? null,
      ],
    );
  }

  async outcomes(
    rows: ReadonlyArray<{ deviceId: string; fingerprint: string }>,
  ): Promise<RowOutcome[]> {
    if (rows.length === 0) return [];
    const found = await this.#db.query<{
      device_id: string;
      sha256_fingerprint: string;
      state: RowOutcome["state"];
      error: string | null;
      bulk_ops_request_id: string | null;
    }>(
      `SELECT r.device_id, r.sha256_fingerprint, r.state, r.error, u.bulk_ops_request_id
       FROM unnest($1::text[], $2::text[]) AS k(device_id, fingerprint)
       JOIN upload_rows r ON r.device_id = k.device_id AND r.sha256_fingerprint = k.fingerprint
       LEFT JOIN uploads u ON u.id = r.upload_id ORDER BY r.id`,
      [rows.map((r) => r.deviceId), rows.map((r) => r.fingerprint)],
    );
    return found.map((row) => ({
      deviceId: row.device_id,
      fingerprint: row.sha256_fingerprint,
      state: row.state,
      bulkOpsRequestId: row.bulk_ops_request_id ?? undefined,
      error: row.error ?? undefined,
    }));
  }

  /**
   * The open jobs of stations that are gone (heartbeat older than the claim timeout, or
   * stopped), and this station's own from before its current start, in one transaction
   * (`SKIP LOCKED`: two stations looking at once split them, never share one).
   *
   * Why this is safe: a job without a bulk ID was either never sent, or sent and its answer
   * lost; its rows go back to pending, and the resubmission of the same certificate for the
   * same device is accepted by nRF Cloud (a different certificate would be refused), so at
   * worst a device's row reaches nRF Cloud twice with the same certificate, never a second
   * certificate. A job with a bulk ID is taken over (its station becomes this one, its time
   * now) and returned, so its result is fetched from nRF Cloud and recorded, never resent.
   */
  takeOverOrphans(): Promise<TakenJob[]> {
    return this.#db.transaction(async (tx) => {
      const jobs = await tx.query<{ id: string; bulk_ops_request_id: string | null }>(
        `SELECT u.id, u.bulk_ops_request_id FROM uploads u JOIN stations s ON s.id = u.station_id
         WHERE u.state IN ('taken', 'submitted')
           AND ((s.id <> $1 AND NOT ${aliveSql("$2")}) OR (s.id = $1 AND u.taken_at < s.started_at))
         FOR UPDATE OF u SKIP LOCKED`,
        [this.#stationId, this.#timing.claimTimeoutMs / 1000],
      );
      if (jobs.length === 0) return [];
      const released = jobs.filter((job) => job.bulk_ops_request_id === null).map((job) => job.id);
      const submitted = jobs.filter((job) => job.bulk_ops_request_id !== null);
      if (released.length > 0) {
        await tx.query(
          `WITH rows AS (
             UPDATE upload_rows SET state = 'pending', upload_id = NULL, job_row = NULL,
               updated_at = now()
             WHERE upload_id = ANY($1::uuid[]) AND state = 'sending')
           UPDATE uploads SET state = 'released', finished_at = now(),
             error = 'its station stopped before nRF Cloud''s job ID was recorded; rows pending again'
           WHERE id = ANY($1::uuid[])`,
          [released],
        );
      }
      if (submitted.length === 0) return [];
      await tx.query(
        "UPDATE uploads SET station_id = $2, taken_at = now() WHERE id = ANY($1::uuid[])",
        [submitted.map((job) => job.id), this.#stationId],
      );
      const taken: TakenJob[] = [];
      for (const job of submitted) {
        taken.push({
          ...toJob(job.id, await jobRows(tx, job.id)),
          bulkOpsRequestId: job.bulk_ops_request_id!,
        });
      }
      return taken;
    });
  }
}

/** The rows of one job still being sent, in the order of its CSV. */
function jobRows(tx: Queryable, jobId: string): Promise<JobRow[]> {
  return tx.query<JobRow>(
    `SELECT device_id, sha256_fingerprint, onboarding_row FROM upload_rows
     WHERE upload_id = $1 AND state = 'sending' ORDER BY job_row`,
    [jobId],
  );
}

function sortByJobRow(rows: Array<JobRow & { job_row?: number }>): JobRow[] {
  return [...rows].sort((a, b) => (a.job_row ?? 0) - (b.job_row ?? 0));
}

function toJob(jobId: string, rows: JobRow[]): TakenJob {
  return {
    jobId,
    rows: rows.map((row) => ({ row: row.onboarding_row, fingerprint: row.sha256_fingerprint })),
  };
}
