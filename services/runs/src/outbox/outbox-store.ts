import type pg from 'pg';
import type { PublishableEvent } from './run-events-stream.js';

export interface OutboxCursor {
  runId: string;
  appPackage: string;
  lastSeq: number;
  publishedSeq: number;
  publishedStreamSeq: number;
  updatedAt: Date;
}

const CURSOR_COLUMNS = `o.run_id AS "runId", r.app_package AS "appPackage", r.last_seq AS "lastSeq",
  o.published_seq AS "publishedSeq", o.published_stream_seq AS "publishedStreamSeq", o.updated_at AS "updatedAt"`;

/** A timestamp as the API writes it (`Date.toISOString`): UTC, milliseconds, `Z`. */
const ISO_UTC = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The per-run publishing cursors in `run_outbox`. */
export class OutboxStore {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Locks a run's cursor for this relay when the run has unpublished events; null when it has
   * none or another relay holds it (that relay publishes them, in order).
   */
  async lockLagging(client: pg.PoolClient, runId: string): Promise<OutboxCursor | null> {
    const { rows } = await client.query<OutboxCursor>(
      `SELECT ${CURSOR_COLUMNS} FROM run_outbox o JOIN runs r USING (run_id)
       WHERE o.run_id = $1 AND r.last_seq > o.published_seq
       FOR UPDATE OF o SKIP LOCKED`,
      [runId],
    );
    return rows[0] ?? null;
  }

  /**
   * A run's events after `afterSeq` as envelopes in JSON text, built by PostgreSQL: the relay
   * publishes them as they are, without parsing and re-serializing every event.
   */
  async unpublished(
    client: pg.PoolClient,
    run: Pick<OutboxCursor, 'runId' | 'appPackage'>,
    afterSeq: number,
    limit: number,
  ): Promise<PublishableEvent[]> {
    const { rows } = await client.query<PublishableEvent>(
      `SELECT event_id AS "eventId", run_id AS "runId", $2::text AS "appPackage", seq, type::text AS type,
         request_id AS "requestId",
         json_build_object(
           'eventId', event_id, 'runId', run_id, 'appPackage', $2::text, 'seq', seq, 'type', type,
           'occurredAt', ${ISO_UTC('occurred_at')}, 'recordedAt', ${ISO_UTC('recorded_at')}, 'data', data
         )::text AS envelope
       FROM run_events WHERE run_id = $1 AND seq > $3 ORDER BY seq LIMIT $4`,
      [run.runId, run.appPackage, afterSeq, limit],
    );
    return rows;
  }

  async advance(client: pg.PoolClient, runId: string, publishedSeq: number, publishedStreamSeq: number): Promise<void> {
    await client.query(
      `UPDATE run_outbox SET published_seq = $2, published_stream_seq = $3, updated_at = now() WHERE run_id = $1`,
      [runId, publishedSeq, publishedStreamSeq],
    );
  }

  /** Runs with unpublished events, longest waiting first: the sweep for anything no notification announced. */
  async lagging(limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ run_id: string }>(
      `SELECT o.run_id FROM run_outbox o JOIN runs r USING (run_id)
       WHERE r.last_seq > o.published_seq ORDER BY o.updated_at LIMIT $1`,
      [limit],
    );
    return rows.map((row) => row.run_id);
  }

  async cursor(runId: string): Promise<OutboxCursor | null> {
    const { rows } = await this.pool.query<OutboxCursor>(
      `SELECT ${CURSOR_COLUMNS} FROM run_outbox o JOIN runs r USING (run_id) WHERE o.run_id = $1`,
      [runId],
    );
    return rows[0] ?? null;
  }
}
