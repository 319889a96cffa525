-- The production line's shared state (issue 14). Applied once by `nrf-provision line db migrate`.

-- Stations on the line: one row per station ID, kept after the station stops.
CREATE TABLE stations (
  id text PRIMARY KEY,
  host text NOT NULL,
  pid integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat timestamptz NOT NULL DEFAULT now(),
  -- Set when the station ended normally: its claims are free at once.
  stopped_at timestamptz,
  -- The CA certificate it issues with (its intermediate, or its own CA) and that CA's fingerprint.
  issuer_certificate text,
  issuer_fingerprint text,
  issuer_serial text,
  -- `ca revoke-station`: its issuer is refused line-wide.
  revoked boolean NOT NULL DEFAULT false,
  revoked_at timestamptz,
  -- Round trips to the database and milliseconds spent in them, written when the station stops.
  db_round_trips bigint NOT NULL DEFAULT 0,
  db_ms double precision NOT NULL DEFAULT 0
);

-- The CA ledger of the whole line: serial numbers are unique per issuer.
CREATE TABLE certificates (
  issuer_fingerprint text NOT NULL,
  serial_number text NOT NULL,
  device_id text NOT NULL,
  sha256_fingerprint text NOT NULL UNIQUE,
  not_before timestamptz NOT NULL,
  not_after timestamptz NOT NULL,
  issued_at timestamptz NOT NULL,
  station_id text NOT NULL,
  source text NOT NULL,
  pem text NOT NULL,
  PRIMARY KEY (issuer_fingerprint, serial_number)
);
CREATE INDEX certificates_device ON certificates (device_id);

-- Every board the line has seen; `claimed_by` is the station working on it now.
CREATE TABLE devices (
  device_id text PRIMARY KEY,
  imei text,
  uuid text,
  model text,
  firmware text,
  claimed_by text REFERENCES stations (id),
  claimed_at timestamptz,
  station_id text NOT NULL REFERENCES stations (id),
  state text NOT NULL DEFAULT 'in-progress',
  step text NOT NULL DEFAULT 'identity',
  -- The certificate that should be on the modem and on nRF Cloud.
  expected_fingerprint text,
  onboarding text NOT NULL DEFAULT 'not-started',
  first_seen timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_imei ON devices (imei);
CREATE INDEX devices_claimed_by ON devices (claimed_by);
CREATE INDEX devices_updated ON devices (updated_at);

-- The journal of the whole line: append-only, each record as the station journal writes it
-- (`record` is the JSON, `checksum` its CRC-32 in 8 hex digits), in the order written.
CREATE TABLE events (
  seq bigserial PRIMARY KEY,
  -- Chosen by the station, so a retried insert (connection lost at commit) is not doubled.
  event_id uuid NOT NULL UNIQUE,
  station_id text NOT NULL REFERENCES stations (id),
  type text NOT NULL,
  device_ids text[] NOT NULL,
  at timestamptz NOT NULL,
  record text NOT NULL,
  checksum text NOT NULL
);
CREATE INDEX events_device_ids ON events USING gin (device_ids);
CREATE INDEX events_type_at ON events (type, at);

CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are append-only';
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION events_append_only();

-- Claims a board for a station in one round trip: refused (the holder returned) while another
-- live station holds the device ID or the IMEI; else the claim is taken, the board's earlier
-- history returned (checksummed records, in order) and the identity record appended.
CREATE FUNCTION claim_device(
  p_device text, p_imei text, p_uuid text, p_station text, p_timeout double precision,
  p_at timestamptz, p_event uuid, p_record text, p_checksum text)
RETURNS TABLE (out_holder text, out_record text, out_checksum text, out_seq bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_holder text;
BEGIN
  INSERT INTO devices (device_id, imei, uuid, station_id) VALUES (p_device, p_imei, p_uuid, p_station)
    ON CONFLICT (device_id) DO NOTHING;
  -- A new statement, a new snapshot: a claim committed by a racing station is seen here.
  SELECT d.claimed_by INTO v_holder FROM devices d JOIN stations s ON s.id = d.claimed_by
    WHERE (d.device_id = p_device OR d.imei = p_imei) AND d.claimed_by <> p_station
      AND s.stopped_at IS NULL AND s.heartbeat > now() - make_interval(secs => p_timeout)
    LIMIT 1 FOR UPDATE OF d;
  IF v_holder IS NOT NULL THEN
    RETURN QUERY SELECT v_holder, NULL::text, NULL::text, NULL::bigint;
    RETURN;
  END IF;
  UPDATE devices d SET claimed_by = p_station, claimed_at = now(), imei = p_imei, uuid = p_uuid,
      station_id = p_station, step = 'identity', updated_at = p_at,
      state = CASE WHEN d.state = 'done' THEN d.state ELSE 'in-progress' END
    WHERE d.device_id = p_device;
  RETURN QUERY SELECT NULL::text, e.record, e.checksum, e.seq FROM events e
    WHERE e.device_ids && ARRAY[p_device] AND e.event_id <> p_event ORDER BY e.seq;
  INSERT INTO events (event_id, station_id, type, device_ids, at, record, checksum)
    VALUES (p_event, p_station, 'identity', ARRAY[p_device], p_at, p_record, p_checksum)
    ON CONFLICT (event_id) DO NOTHING;
END $$;
