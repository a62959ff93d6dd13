import type { Counter } from '@screengraph/shared/metrics';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    runsMetrics: { eventsAppended: Counter<'type'> };
  }
}

/**
 * The runs service's own series: events appended (counted as they are stored), and, read from the
 * database when Prometheus scrapes, the relay's backlog and lag and the artifact bytes stored.
 */
export default fp(
  async (app: FastifyInstance) => {
    const eventsAppended = app.metrics.counter(
      'screengraph_events_appended_total',
      'Events stored by appends, by type',
      ['type'],
    );
    const scalar = async (sql: string) => Number((await app.pg.query(sql)).rows[0]?.value ?? 0);
    app.metrics.gauge(
      'screengraph_relay_backlog_events',
      'Events stored but not yet published to NATS',
      [],
      async (g) =>
        g.set(
          await scalar(
            `SELECT coalesce(sum(r.last_seq - o.published_seq), 0) AS value
           FROM runs r JOIN run_outbox o USING (run_id) WHERE r.last_seq > o.published_seq`,
          ),
        ),
    );
    app.metrics.gauge(
      'screengraph_relay_lag_seconds',
      'Age of the oldest event not yet published (0 when everything is)',
      [],
      async (g) =>
        g.set(
          await scalar(
            `SELECT coalesce(extract(epoch FROM now() - min(e.recorded_at)), 0) AS value
             FROM run_outbox o JOIN run_events e ON e.run_id = o.run_id AND e.seq = o.published_seq + 1`,
          ),
        ),
    );
    app.metrics.gauge(
      'screengraph_artifact_bytes_stored',
      'Bytes of artifact content stored, each content once',
      [],
      async (g) =>
        g.set(
          await scalar(
            `SELECT coalesce(sum(byte_size), 0) AS value FROM (SELECT DISTINCT ON (sha256) byte_size FROM run_artifacts) s`,
          ),
        ),
    );
    app.decorate('runsMetrics', { eventsAppended });
  },
  { name: 'runs-metrics', dependencies: ['metrics', 'runs-database'] },
);
