-- The projection writes a batch of several runs' events in one statement: each run's cursor moves
-- by a compare-and-set from where its part of the batch was planned. This refuses the statement
-- (so the whole batch is undone) unless every cursor moved: the projector then sends the runs
-- whose cursor was elsewhere (another instance, a rebuild) the careful way and writes the rest.
CREATE FUNCTION graph_projection_guard(moved bigint, planned bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  IF moved <> planned THEN
    RAISE EXCEPTION USING
      ERRCODE = 'SGC01',
      MESSAGE = format('%s of %s run cursors were not where their part of the batch was planned from', planned - moved, planned);
  END IF;
  RETURN true;
END
$$;
COMMENT ON FUNCTION graph_projection_guard(bigint, bigint) IS
  'Refuses a projection batch (SQLSTATE SGC01) unless each of its runs'' cursors moved by its compare-and-set';
