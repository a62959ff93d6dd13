-- A cursor dropped and made again (a rebuild drops an app's cursors, then projects its runs anew)
-- is another cursor, even at the same seq and on the same screen: what an instance remembered of
-- the old one (the state it plans from, the actions it knows are stored) no longer holds. Its
-- one-statement writes are guarded by this number as well as by the cursor's state.
CREATE SEQUENCE graph_cursor_incarnations AS bigint;
ALTER TABLE graph_projection_cursors
  ADD COLUMN incarnation bigint NOT NULL DEFAULT nextval('graph_cursor_incarnations');
ALTER SEQUENCE graph_cursor_incarnations OWNED BY graph_projection_cursors.incarnation;
COMMENT ON COLUMN graph_projection_cursors.incarnation IS 'Drawn when the row is made: a cursor dropped and made again is another incarnation, and writes planned from the old one are refused';
