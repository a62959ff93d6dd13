-- How many runs saw a screen ("known: seen 12 times by 3 runs", as an agent is told when it
-- observes it) is the number of distinct runs among the screen's observations. This index
-- answers it from the screen's own outcome rows instead of a scan of the app's.
CREATE INDEX graph_persistence_outcomes_screen_idx ON graph_persistence_outcomes (screen_id, run_id)
  WHERE outcome = 'screen_observed';
