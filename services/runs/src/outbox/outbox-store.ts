import { isUlid } from '@screengraph/shared';
import type { PreparedSql } from '@screengraph/shared/postgres';
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

/**
 * An event as the relay publishes it: the header fields, and the envelope as JSON text built by
 * PostgreSQL, published as it is, without parsing and re-serializing every event.
 */
const eventColumns = (appPackage: string) => `event_id AS "eventId", run_id AS "runId", ${appPackage} AS "appPackage",
  seq, type::text AS type, request_id AS "requestId",
  json_build_object(
    'eventId', event_id, 'runId', run_id, 'appPackage', ${appPackage}, 'seq', seq, 'type', type,
    'occurredAt', ${ISO_UTC('occurred_at')}, 'recordedAt', ${ISO_UTC('recorded_at')}, 'data', data
  )::text AS envelope`;

/** A batch stops at this much event data (as stored, so compressed), whatever its count: bounded memory. */
export const BATCH_MAX_BYTES = 4 * 1024 * 1024;

/**
 * A run's next events after `afterSeq`, in seq order: at most `limit`, and no more than
 * BATCH_MAX_BYTES of data but for the first (an event is at most the body limit).
 */
const nextEvents = (runId: string, afterSeq: string, appPackage: string, limit: string) => `
  SELECT ${eventColumns(appPackage)} FROM (
    SELECT *, sum(pg_column_size(data)) OVER (ORDER BY seq) - pg_column_size(data) AS before
    FROM (SELECT * FROM run_events WHERE run_id = ${runId} AND seq > ${afterSeq} ORDER BY seq LIMIT ${limit}) next
  ) sized
  WHERE before < ${BATCH_MAX_BYTES} ORDER BY seq`;

/**
 * The relay's two statements, prepared once per connection and executed with literal arguments
 * in its two-trip transactions. $1 run id, $2 batch size / published seq, $3 published stream seq.
 */
const RELAY_STATEMENTS: readonly PreparedSql[] = [
  {
    name: 'sg_relay_lock_next_batch (text, bigint)',
    text: `WITH c AS (
        SELECT ${CURSOR_COLUMNS} FROM run_outbox o JOIN runs r USING (run_id)
        WHERE o.run_id = $1 AND r.last_seq > o.published_seq
        FOR UPDATE OF o SKIP LOCKED
      )
      SELECT c.*, e."eventId", e.seq, e.type, e."requestId", e.envelope FROM c CROSS JOIN LATERAL (
        ${nextEvents('c."runId"', 'c."publishedSeq"', 'c."appPackage"', '$2')}
      ) e`,
  },
  {
    name: 'sg_relay_advance (text, bigint, bigint)',
    text: `UPDATE run_outbox SET published_seq = $2, published_stream_seq = $3, updated_at = now()
      WHERE run_id = $1`,
  },
];

/** The per-run publishing cursors in `run_outbox`. */
export class OutboxStore {
  constructor(private readonly pool: pg.Pool) {}

  /** What `lockNextBatchSql` and `advanceSql` execute: to prepare on the connection first (withTwoTripTransaction). */
  readonly relayStatements = RELAY_STATEMENTS;

  /**
   * For `BEGIN; ...` (withTwoTripTransaction): locks a run's cursor for this relay when the run
   * has unpublished events and no other relay holds it, and reads the next `limit` of them, in one
   * statement. Its rows are read by `nextBatch`.
   */
  lockNextBatchSql(runId: string, limit: number): string {
    // Run ids go into simple-query statements as literals: only a ULID may.
    if (!isUlid(runId)) throw new Error(`not a run id: ${runId}`);
    if (!Number.isSafeInteger(limit) || limit < 1) throw new Error(`not a batch size: ${limit}`);
    return `EXECUTE sg_relay_lock_next_batch('${runId}', ${limit})`;
  }

  /** The locked cursor and its next events from `lockNextBatchSql`'s result; null when there is nothing to relay. */
  nextBatch(result: pg.QueryResult): { cursor: OutboxCursor; events: PublishableEvent[] } | null {
    const [first] = result.rows as (OutboxCursor & PublishableEvent)[];
    if (!first) return null;
    const { runId, appPackage, lastSeq, publishedSeq, publishedStreamSeq, updatedAt } = first;
    return {
      cursor: { runId, appPackage, lastSeq, publishedSeq, publishedStreamSeq, updatedAt },
      events: (result.rows as (OutboxCursor & PublishableEvent)[]).map((row) => ({
        eventId: row.eventId,
        runId: row.runId,
        appPackage: row.appPackage,
        seq: row.seq,
        type: row.type,
        requestId: row.requestId,
        envelope: row.envelope,
      })),
    };
  }

  /** The statement that moves a run's cursor, for `...; COMMIT`. */
  advanceSql(runId: string, publishedSeq: number, publishedStreamSeq: number): string {
    if (!isUlid(runId)) throw new Error(`not a run id: ${runId}`);
    if (!Number.isSafeInteger(publishedSeq) || !Number.isSafeInteger(publishedStreamSeq)) {
      throw new Error(`not a position: ${publishedSeq}, ${publishedStreamSeq}`);
    }
    return `EXECUTE sg_relay_advance('${runId}', ${publishedSeq}, ${publishedStreamSeq})`;
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
    const { rows } = await client.query<PublishableEvent>(nextEvents('$1', '$3', '$2::text', '$4'), [
      run.runId,
      run.appPackage,
      afterSeq,
      limit,
    ]);
    return rows;
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
