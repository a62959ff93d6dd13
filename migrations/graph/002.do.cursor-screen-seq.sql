-- A run's cursor names the observation its current screen comes from (its seq) instead of
-- holding a copy of it: every screen.observed wrote that copy, kilobytes of JSON (the screen's
-- actions with their bounds) compressed and stored out of line, for a path that needs it only
-- when the cursor is not in the projecting process's memory (a restart, another instance).
-- That path reads the observation again from the runs service's event log, the source of truth,
-- and gets the very same screen: reading an observation is deterministic.
ALTER TABLE graph_projection_cursors ADD COLUMN current_screen_seq bigint CHECK (current_screen_seq >= 1);

-- The current screen was set by the run's latest screen.observed (an action or the run's end clears it).
UPDATE graph_projection_cursors c
SET current_screen_seq = (
  SELECT max(o.seq) FROM graph_persistence_outcomes o
  WHERE o.run_id = c.run_id AND o.outcome = 'screen_observed' AND o.seq <= c.last_seq
)
WHERE c.current_screen_id IS NOT NULL;

ALTER TABLE graph_projection_cursors DROP COLUMN current_screen;

COMMENT ON COLUMN graph_projection_cursors.current_screen_seq IS
  'Seq of the screen.observed the current screen comes from: re-read from the event log to resolve the next action.performed when the cursor is not in memory';
