-- The graph bounded context: one screen graph per app package, projected from the runs' event
-- logs (BRIEF §3 "Projection", §4). Everything here can be dropped and rebuilt from the runs
-- service; run ids are bare references to it, never foreign keys.
--
-- Determinism: every row is a merge that does not depend on the order runs are projected in.
-- "First" means the smallest (run_id, seq) that saw a row (run ids are ULIDs: creation order),
-- "last" the largest; counts add up. A rebuild therefore gives the very same rows.

CREATE TYPE action_type_enum AS ENUM (
  'tap', 'long_press', 'swipe', 'scroll', 'input_text', 'back', 'home', 'launch', 'key', 'intent'
);
COMMENT ON TYPE action_type_enum IS 'What an agent can do on a screen; mirrors ActionType in packages/shared';

CREATE TYPE action_origin_enum AS ENUM ('discovered', 'performed');
COMMENT ON TYPE action_origin_enum IS 'discovered: an actionable element of the screen''s hierarchy (or back); performed: an agent''s action that matched none';

CREATE TYPE projection_outcome_enum AS ENUM (
  'screen_observed', 'action_matched', 'action_added', 'no_effect', 'rejected'
);
COMMENT ON TYPE projection_outcome_enum IS 'What projecting one event did to the graph. Whether a screen.observed found a new screen is not stored: it is the screen''s first (run, seq), which does not depend on projection order';

CREATE TABLE screens (
  screen_id              text COLLATE "C" PRIMARY KEY,
  app_package            text COLLATE "C" NOT NULL,
  layout_hash            text COLLATE "C" NOT NULL,
  activity               text,
  width                  integer,
  height                 integer,
  perceptual_hash        bigint,
  screenshot_artifact_id text COLLATE "C",
  picture_run_id         text COLLATE "C",
  picture_seq            bigint,
  first_run_id           text COLLATE "C" NOT NULL,
  first_seq              bigint NOT NULL,
  first_seen_at          timestamptz NOT NULL,
  last_run_id            text COLLATE "C" NOT NULL,
  last_seq               bigint NOT NULL,
  last_seen_at           timestamptz NOT NULL,
  observations           bigint NOT NULL CHECK (observations >= 1),
  UNIQUE (app_package, layout_hash)
);
COMMENT ON TABLE screens IS 'Unique screens of an app: one per layout hash (content-free structure + activity)';
COMMENT ON COLUMN screens.screen_id IS 'Deterministic: sha256(app package, layout hash), 32 hex digits';
COMMENT ON COLUMN screens.layout_hash IS 'Computed from the hierarchy when an observation has one, else the agent''s';
COMMENT ON COLUMN screens.activity IS 'Foreground activity of the first observation';
COMMENT ON COLUMN screens.width IS 'Screen size in pixels of the first observation';
COMMENT ON COLUMN screens.perceptual_hash IS '64-bit dHash of the representative screenshot (signed bigint)';
COMMENT ON COLUMN screens.screenshot_artifact_id IS 'Representative screenshot: that of the first observation with a picture';
COMMENT ON COLUMN screens.picture_run_id IS 'Run and seq of the observation the picture comes from';
COMMENT ON COLUMN screens.first_run_id IS 'Earliest (run id, seq) whose screen.observed saw this screen';
COMMENT ON COLUMN screens.last_run_id IS 'Latest (run id, seq) whose screen.observed saw this screen';
COMMENT ON COLUMN screens.first_seen_at IS 'recorded_at of the first observation (the runs service''s clock)';
COMMENT ON COLUMN screens.observations IS 'How many screen.observed events saw it, over every run';

CREATE TABLE actions (
  action_id          text COLLATE "C" PRIMARY KEY,
  screen_id          text COLLATE "C" NOT NULL REFERENCES screens (screen_id) ON DELETE CASCADE,
  app_package        text COLLATE "C" NOT NULL,
  action_type        action_type_enum NOT NULL,
  origin             action_origin_enum NOT NULL,
  target_selector    text COLLATE "C",
  target_bounds      double precision[] CHECK (target_bounds IS NULL OR cardinality(target_bounds) = 4),
  target_class       text,
  target_resource_id text,
  first_run_id       text COLLATE "C" NOT NULL,
  first_seq          bigint NOT NULL
);
COMMENT ON TABLE actions IS 'What can be done on a screen: discovered in its hierarchy, or performed by an agent on a target that matched nothing';
COMMENT ON COLUMN actions.action_id IS 'Deterministic: sha256(screen id, type, selector or target signature), 32 hex digits';
COMMENT ON COLUMN actions.target_selector IS 'Stable selector (#resource-id or class/index path); null for screen-level actions and performed ones';
COMMENT ON COLUMN actions.target_bounds IS '[x1, y1, x2, y2] as fractions of the screen size, from the first observation';
COMMENT ON COLUMN actions.first_run_id IS 'Earliest (run id, seq) that discovered or performed it';
CREATE INDEX actions_screen_idx ON actions (screen_id);
CREATE INDEX actions_app_package_idx ON actions (app_package);

CREATE TABLE edges (
  edge_id        text COLLATE "C" PRIMARY KEY,
  app_package    text COLLATE "C" NOT NULL,
  from_screen_id text COLLATE "C" NOT NULL REFERENCES screens (screen_id) ON DELETE CASCADE,
  action_id      text COLLATE "C" NOT NULL REFERENCES actions (action_id) ON DELETE CASCADE,
  to_screen_id   text COLLATE "C" NOT NULL REFERENCES screens (screen_id) ON DELETE CASCADE,
  first_run_id   text COLLATE "C" NOT NULL,
  first_seq      bigint NOT NULL,
  first_seen_at  timestamptz NOT NULL,
  last_run_id    text COLLATE "C" NOT NULL,
  last_seq       bigint NOT NULL,
  last_seen_at   timestamptz NOT NULL,
  observations   bigint NOT NULL CHECK (observations >= 1),
  UNIQUE (action_id, to_screen_id)
);
COMMENT ON TABLE edges IS 'from screen --action--> to screen, as observed: screen.observed(A), action.performed(a), screen.observed(B)';
COMMENT ON COLUMN edges.edge_id IS 'Deterministic: sha256(action id, to screen id), 32 hex digits';
COMMENT ON COLUMN edges.first_run_id IS 'Earliest (run id, seq of the screen.observed that ended it) that observed the edge';
COMMENT ON COLUMN edges.observations IS 'How many times runs took it';
CREATE INDEX edges_from_screen_idx ON edges (from_screen_id);
CREATE INDEX edges_to_screen_idx ON edges (to_screen_id);
CREATE INDEX edges_app_package_idx ON edges (app_package);

CREATE TABLE graph_projection_cursors (
  run_id            text COLLATE "C" PRIMARY KEY,
  app_package       text COLLATE "C" NOT NULL,
  last_seq          bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
  current_screen_id text COLLATE "C",
  current_screen    jsonb,
  pending_action_id text COLLATE "C",
  pending_screen_id text COLLATE "C",
  updated_at        timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70);
COMMENT ON TABLE graph_projection_cursors IS 'Per run: how far its events are projected, and the state the next event needs; the row lock serialises a run''s projection';
COMMENT ON COLUMN graph_projection_cursors.last_seq IS 'Seq of the last projected event; a message at or below it is a duplicate';
COMMENT ON COLUMN graph_projection_cursors.current_screen_id IS 'Screen the run is on (its latest observation); null after an action until the next observation';
COMMENT ON COLUMN graph_projection_cursors.current_screen IS 'That observation: size and actions with their normalized bounds, to resolve the next action.performed';
COMMENT ON COLUMN graph_projection_cursors.pending_action_id IS 'Action just performed; the next screen.observed ends its edge';
COMMENT ON COLUMN graph_projection_cursors.pending_screen_id IS 'Screen the pending action was performed on: the edge''s from screen';
CREATE INDEX graph_projection_cursors_app_package_idx ON graph_projection_cursors (app_package);

CREATE TABLE graph_persistence_outcomes (
  run_id       text COLLATE "C" NOT NULL,
  seq          bigint NOT NULL CHECK (seq >= 1),
  app_package  text COLLATE "C",
  event_id     text COLLATE "C",
  event_type   text,
  outcome      projection_outcome_enum NOT NULL,
  screen_id    text COLLATE "C",
  action_id    text COLLATE "C",
  edge_id      text COLLATE "C",
  detail       text,
  projected_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (run_id, seq)
);
COMMENT ON TABLE graph_persistence_outcomes IS 'One row per projected event: what it did to the graph, or why it was rejected';
COMMENT ON COLUMN graph_persistence_outcomes.app_package IS 'Null only for a rejected message that named no app';
COMMENT ON COLUMN graph_persistence_outcomes.screen_id IS 'Screen observed, or the screen the action was performed on';
COMMENT ON COLUMN graph_persistence_outcomes.action_id IS 'Action matched or added';
COMMENT ON COLUMN graph_persistence_outcomes.edge_id IS 'Edge this screen.observed ended';
COMMENT ON COLUMN graph_persistence_outcomes.detail IS 'Why: the reason of a rejection or of no effect';
COMMENT ON COLUMN graph_persistence_outcomes.projected_at IS 'Clock time of the projecting transaction (lag measurements)';
CREATE INDEX graph_persistence_outcomes_app_package_idx ON graph_persistence_outcomes (app_package);
