-- The relay publishes each event with the stream sequence it expects the run's subject to be at,
-- so a run's events enter the stream strictly in seq order even across relay crashes and instances.
ALTER TABLE run_outbox ADD COLUMN published_stream_seq bigint NOT NULL DEFAULT 0 CHECK (published_stream_seq >= 0);
COMMENT ON COLUMN run_outbox.published_stream_seq IS 'JetStream sequence of the event at published_seq (0: none yet); the next publish expects it as the subject''s last';
