-- Onboarding uploads shared by the stations of a line (issue 14). Applied once by
-- `nrf-provision line db migrate`, after 001.

-- One bulk job (one OnboardDevices request): taken by a station, sent, its result recorded.
--   taken      rows claimed by `station_id`; maybe sent, bulk ID not known yet
--   submitted  nRF Cloud accepted it: `bulk_ops_request_id` is its job
--   done       its result is recorded in its rows
--   released   given up before its bulk ID was known (a dead station's): its rows went back to pending
CREATE TABLE uploads (
  -- Chosen by the station, so a take retried after a lost COMMIT finds its first attempt.
  id uuid PRIMARY KEY,
  station_id text NOT NULL REFERENCES stations (id),
  state text NOT NULL DEFAULT 'taken'
    CHECK (state IN ('taken', 'submitted', 'done', 'released')),
  bulk_ops_request_id text,
  taken_at timestamptz NOT NULL DEFAULT now(),
  submitted_at timestamptz,
  finished_at timestamptz,
  error text
);
CREATE INDEX uploads_open ON uploads (station_id) WHERE state IN ('taken', 'submitted');

-- One onboarding row per device and certificate, enqueued once line-wide.
--   pending    waiting for any station's next bulk job
--   sending    in job `upload_id`, at row `job_row` of its CSV
--   onboarded  nRF Cloud confirmed this certificate for this device
--   failed     nRF Cloud refused it (or the upload failed): `error` says why
CREATE TABLE upload_rows (
  id bigserial PRIMARY KEY,
  device_id text NOT NULL,
  sha256_fingerprint text NOT NULL,
  -- The onboarding CSV row's fields (device ID, certificate, subType, tags, firmware types).
  onboarding_row jsonb NOT NULL,
  state text NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'sending', 'onboarded', 'failed')),
  upload_id uuid REFERENCES uploads (id),
  job_row integer,
  error text,
  enqueued_by text NOT NULL REFERENCES stations (id),
  enqueued_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (device_id, sha256_fingerprint)
);
CREATE INDEX upload_rows_pending ON upload_rows (id) WHERE state = 'pending';
CREATE INDEX upload_rows_upload ON upload_rows (upload_id);
