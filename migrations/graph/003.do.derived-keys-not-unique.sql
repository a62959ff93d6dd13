-- A screen's id is derived from (app_package, layout_hash), an edge's from (action_id,
-- to_screen_id): their primary keys already make those pairs unique. As unique constraints of
-- their own they broke concurrent merges: INSERT ... ON CONFLICT (screen_id) resolves conflicts on
-- its arbiter only, so two runs inserting the same new screen at the same moment could have the
-- second fail on the other unique index (23505) instead of merging, and its event rejected.
-- Plain indexes keep the lookups (a screen by layout hash, an action's edges).
ALTER TABLE screens DROP CONSTRAINT screens_app_package_layout_hash_key;
CREATE INDEX screens_app_package_layout_hash_idx ON screens (app_package, layout_hash);

ALTER TABLE edges DROP CONSTRAINT edges_action_id_to_screen_id_key;
CREATE INDEX edges_action_id_to_screen_id_idx ON edges (action_id, to_screen_id);
