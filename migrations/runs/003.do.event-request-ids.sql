-- The HTTP request that appended an event travels with it: stored here, published in the
-- Sg-Request-Id header, logged by the graph service's projection. Null for events the service
-- wrote itself outside a request (an idle run failed by the reaper).
ALTER TABLE run_events ADD COLUMN request_id text CHECK (length(request_id) <= 128);

COMMENT ON COLUMN run_events.request_id IS
  'Id of the HTTP request that wrote the event (X-Request-Id, or one the service made); null when none';
