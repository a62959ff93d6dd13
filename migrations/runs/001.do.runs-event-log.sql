-- The runs bounded context: runs, their per-run event logs, the publishing cursor,
-- agent state snapshots and the artifact index (BRIEF §4).
-- Ids, hashes and app packages are ASCII compared bytewise: COLLATE "C" keeps their indexes
-- fast and their order (ULID = time order) independent of the server's locale.

CREATE TYPE run_status_enum AS ENUM ('queued', 'running', 'completed', 'failed', 'cancelled');
COMMENT ON TYPE run_status_enum IS 'Life of a run: queued -> running -> completed | failed | cancelled; queued -> cancelled';

CREATE TYPE run_event_type_enum AS ENUM (
  'run.created', 'run.started', 'run.completed', 'run.failed', 'run.cancelled',
  'screen.observed', 'action.performed'
);
COMMENT ON TYPE run_event_type_enum IS 'Event types; run.* are written by the runs service, the others by agents';

CREATE TYPE artifact_kind_enum AS ENUM ('screenshot', 'ui_hierarchy', 'log', 'other');
COMMENT ON TYPE artifact_kind_enum IS 'What an artifact''s bytes are';

CREATE TABLE runs (
  run_id           text COLLATE "C" PRIMARY KEY CHECK (run_id ~ '^[0-7][0-9A-HJKMNP-TV-Z]{25}$'),
  app_package      text COLLATE "C" NOT NULL CHECK (length(app_package) <= 255),
  status           run_status_enum NOT NULL DEFAULT 'queued',
  worker_id        text,
  config           jsonb,
  last_seq         bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
  failure_reason   text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  last_activity_at timestamptz NOT NULL DEFAULT now(),
  CHECK (status <> 'running' OR worker_id IS NOT NULL),
  CHECK ((status IN ('completed', 'failed', 'cancelled')) = (finished_at IS NOT NULL))
) WITH (fillfactor = 80);
COMMENT ON TABLE runs IS 'One exploration session of one app by one worker; the row lock serialises its event appends';
COMMENT ON COLUMN runs.run_id IS 'ULID, made by the runs service';
COMMENT ON COLUMN runs.app_package IS 'Android application id of the explored app';
COMMENT ON COLUMN runs.worker_id IS 'Agent process holding the run; null until claimed';
COMMENT ON COLUMN runs.last_seq IS 'Head of the event log: seq of the newest event, 0 before any';
COMMENT ON COLUMN runs.last_activity_at IS 'Last append or heartbeat; a running run silent past the idle timeout is failed';
COMMENT ON COLUMN runs.config IS 'Free-form run configuration given at creation';

-- Claim: oldest queued run, optionally of one app.
CREATE INDEX runs_queued_idx ON runs (app_package, run_id) WHERE status = 'queued';
CREATE INDEX runs_queued_any_app_idx ON runs (run_id) WHERE status = 'queued';
-- Listing newest first, filtered by app and/or status.
CREATE INDEX runs_app_package_idx ON runs (app_package, run_id DESC);
CREATE INDEX runs_status_idx ON runs (status, run_id DESC);
-- Idle reaper: scans the running runs (a few per worker). last_seq and last_activity_at, which
-- every append updates, are in no index, so appends are HOT updates (fillfactor leaves room).
CREATE INDEX runs_running_idx ON runs (run_id) WHERE status = 'running';

CREATE TABLE run_events (
  run_id      text COLLATE "C" NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  seq         bigint NOT NULL CHECK (seq >= 1),
  event_id    text COLLATE "C" NOT NULL UNIQUE CHECK (event_id ~ '^[0-7][0-9A-HJKMNP-TV-Z]{25}$'),
  type        run_event_type_enum NOT NULL,
  data        jsonb NOT NULL,
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, seq)
);
COMMENT ON TABLE run_events IS 'Immutable per-run event log, seq 1, 2, 3, ... without gaps';
COMMENT ON COLUMN run_events.seq IS 'Position in the run''s log, assigned under the run row lock';
COMMENT ON COLUMN run_events.event_id IS 'ULID and idempotency key: a retried append with a stored id returns its original seq';
COMMENT ON COLUMN run_events.data IS 'Payload, validated against the type''s schema in packages/shared';
COMMENT ON COLUMN run_events.occurred_at IS 'Agent clock';
COMMENT ON COLUMN run_events.recorded_at IS 'Server clock';

CREATE TABLE run_outbox (
  run_id        text COLLATE "C" PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
  published_seq bigint NOT NULL DEFAULT 0 CHECK (published_seq >= 0),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE run_outbox IS 'Per-run publishing cursor: events with seq <= published_seq are acknowledged by JetStream';
COMMENT ON COLUMN run_outbox.published_seq IS 'Highest seq the broker has acknowledged, advanced only after the ack';

CREATE TABLE run_state_snapshots (
  run_id     text COLLATE "C" NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  seq        bigint NOT NULL CHECK (seq >= 0),
  worker_id  text NOT NULL,
  state      jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, seq)
);
COMMENT ON TABLE run_state_snapshots IS 'An agent''s own state at some seq, to resume or replay a run';
COMMENT ON COLUMN run_state_snapshots.seq IS 'The run seq the state reflects (all events up to it applied)';

CREATE TABLE run_artifacts (
  artifact_id  text COLLATE "C" PRIMARY KEY CHECK (artifact_id ~ '^[0-7][0-9A-HJKMNP-TV-Z]{25}$'),
  run_id       text COLLATE "C" NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  kind         artifact_kind_enum NOT NULL,
  content_type text NOT NULL,
  byte_size    bigint NOT NULL CHECK (byte_size >= 0),
  sha256       text COLLATE "C" NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  storage_key  text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE run_artifacts IS 'Index of a run''s files; the bytes live in the blob store under storage_key, once per content';
COMMENT ON COLUMN run_artifacts.sha256 IS 'Hex SHA-256 of the bytes: the content address';
COMMENT ON COLUMN run_artifacts.storage_key IS 'Key of the bytes in the blob store, derived from sha256';
CREATE INDEX run_artifacts_run_idx ON run_artifacts (run_id, artifact_id);
CREATE INDEX run_artifacts_sha256_idx ON run_artifacts (sha256);
