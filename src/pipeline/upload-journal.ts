// The journal rules of a bulk onboarding upload, whether one station sends it
// (StationOnboarding) or any station of a line (LineUploads).
import type { BulkUploadChunk, CloudClient, OnboardingRow } from "../cloud/index.js";
import { crashPoint } from "./crash-point.js";
import type { StationJournal } from "./journal.js";

/** A row to upload and the fingerprint of its certificate (what `onboarded` will record). */
export interface QueuedRow {
  row: OnboardingRow;
  fingerprint: string;
}

/** Told once nRF Cloud accepted a bulk job: its ID and how many devices it carries. */
export type UploadListener = (upload: { bulkOpsRequestId: string; devices: number }) => void;

/** Journals `onboard-start` for every row; only then may the request be sent. */
export async function recordUploadStart(
  journal: StationJournal,
  rows: readonly QueuedRow[],
): Promise<void> {
  const deviceIds = rows.map((q) => q.row.deviceId);
  await journal.record({
    type: "onboard-start",
    deviceIds,
    sha256Fingerprints: rows.map((q) => q.fingerprint),
  });
  crashPoint("upload-journaled", deviceIds);
}

/** Journals a job nRF Cloud accepted (`bulk-submitted`), then tells the listener. */
export async function recordSubmitted(
  journal: StationJournal,
  chunk: BulkUploadChunk,
  onUpload: UploadListener | undefined,
): Promise<void> {
  await journal.record({
    type: "bulk-submitted",
    bulkOpsRequestId: chunk.bulkOpsRequestId,
    deviceIds: chunk.deviceIds,
  });
  onUpload?.({ bulkOpsRequestId: chunk.bulkOpsRequestId, devices: chunk.deviceIds.length });
}

/**
 * Uploads rows as OnboardDevices jobs (one per 1000 rows), journaled: `onboard-start` before the
 * request, `bulk-submitted` for each job once nRF Cloud accepted the upload. Returns the jobs.
 */
export async function uploadJournaled(
  journal: StationJournal,
  cloud: CloudClient,
  rows: readonly QueuedRow[],
  onUpload: UploadListener | undefined,
): Promise<BulkUploadChunk[]> {
  await recordUploadStart(journal, rows);
  const upload = await cloud.onboardDevices(rows.map((q) => q.row));
  crashPoint(
    "upload-accepted",
    rows.map((q) => q.row.deviceId),
  );
  for (const chunk of upload.chunks) await recordSubmitted(journal, chunk, onUpload);
  return upload.chunks;
}
