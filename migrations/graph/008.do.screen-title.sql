-- A screen's title: what a person would call it, the most prominent short text of its first
-- observation (services/graph/src/identity/screen-title.ts). Graphs projected before have none
-- until they are rebuilt (pnpm graph:rebuild); the console shows the screen's id meanwhile.
ALTER TABLE screens ADD COLUMN title text;
COMMENT ON COLUMN screens.title IS
  'Most prominent short text of the first observation (a toolbar title, else the tallest one-line text); null without one';
-- The console opens an activity's screens (GET /apps/:app/subgraph?activity=).
CREATE INDEX screens_app_package_activity_idx ON screens (app_package, activity);
