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
 * `maxBytes` of data but for the first (an event is at most the body limit).
 */
const nextEvents = (runId: string, afterSeq: string, appPackage: string, limit: string, maxBytes: string) => `
  SELECT ${eventColumns(appPackage)} FROM (
    SELECT *, sum(pg_column_size(data)) OVER (ORDER BY seq) - pg_column_size(data) AS before
    FROM (SELECT * FROM run_events WHERE run_id = ${runId} AND seq > ${afterSeq} ORDER BY seq LIMIT ${limit}) next
  ) sized
  WHERE before < ${maxBytes} ORDER BY seq`;

/** Run ids go into simple-query statements as literals: only a ULID may. */
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * The relay's two statements, prepared once per connection and executed with literal arguments
 * in its two-trip transactions: several runs at once, so that a relay transaction serves every
 * run with events waiting, not one (at single-agent rates a run has one event a batch).
 */
const RELAY_STATEMENTS: readonly PreparedSql[] = [
  {
    // $1 run ids, $2 events per run, $3 bytes of event data per run.
    name: 'sg_relay_lock_next_batches (text[], bigint, bigint)',
    text: `WITH c AS (
        SELECT ${CURSOR_COLUMNS} FROM run_outbox o JOIN runs r USING (run_id)
        WHERE o.run_id = ANY($1) AND r.last_seq > o.published_seq
        FOR UPDATE OF o SKIP LOCKED
      )
      SELECT c.*, e."eventId", e.seq, e.type, e."requestId", e.envelope FROM c CROSS JOIN LATERAL (
        ${nextEvents('c."runId"', 'c."publishedSeq"', 'c."appPackage"', '$2', '$3')}
      ) e
      ORDER BY c."runId", e.seq`,
  },
  {
    // $1 run ids, $2 their published seqs, $3 their published stream seqs.
    name: 'sg_relay_advance_many (text[], bigint[], bigint[])',
    text: `UPDATE run_outbox o SET published_seq = v.seq, published_stream_seq = v.stream_seq, updated_at = now()
      FROM unnest($1, $2, $3) AS v(run_id, seq, stream_seq) WHERE o.run_id = v.run_id`,
  },
];

/** Where a relay batch left a run: what `advanceSql` moves its cursor to. */
export interface Advance {
  runId: string;
  publishedSeq: number;
  publishedStreamSeq: number;
}

const runIdList = (runIds: string[]) => {
  for (const runId of runIds) if (!ULID.test(runId)) throw new Error(`not a run id: ${runId}`);
  return `'{${runIds.join(',')}}'`;
};

/** The per-run publishing cursors in `run_outbox`. */
export class OutboxStore {
  constructor(private readonly pool: pg.Pool) {}

  /** What `lockNextBatchesSql` and `advanceSql` execute: to prepare on the connection first (withTwoTripTransaction). */
  readonly relayStatements = RELAY_STATEMENTS;

  /**
   * For `BEGIN; ...` (withTwoTripTransaction): locks the cursors of those of `runIds` that have
   * unpublished events and no other relay holds, and reads the next events of each (at most
   * `limit` and about `maxBytes` of data a run), in one statement. Its rows are read by
   * `nextBatches`.
   */
  lockNextBatchesSql(runIds: string[], limit: number, maxBytes = BATCH_MAX_BYTES): string {
    if (runIds.length === 0) throw new Error('no run to relay');
    for (const n of [limit, maxBytes]) {
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`not a batch size: ${n}`);
    }
    return `EXECUTE sg_relay_lock_next_batches(${runIdList(runIds)}, ${limit}, ${maxBytes})`;
  }

  /** Each locked cursor and its next events, from `lockNextBatchesSql`'s result (runs with nothing to relay are not there). */
  nextBatches(result: pg.QueryResult): { cursor: OutboxCursor; events: PublishableEvent[] }[] {
    const batches = new Map<string, { cursor: OutboxCursor; events: PublishableEvent[] }>();
    for (const row of result.rows as (OutboxCursor & PublishableEvent)[]) {
      const { runId, appPackage, lastSeq, publishedSeq, publishedStreamSeq, updatedAt } = row;
      let batch = batches.get(runId);
      if (!batch) {
        batch = { cursor: { runId, appPackage, lastSeq, publishedSeq, publishedStreamSeq, updatedAt }, events: [] };
        batches.set(runId, batch);
      }
      batch.events.push({
        eventId: row.eventId,
        runId,
        appPackage,
        seq: row.seq,
        type: row.type,
        requestId: row.requestId,
        envelope: row.envelope,
      });
    }
    return [...batches.values()];
  }

  /** The statement that moves the cursors of a batch's runs, for `...; COMMIT`. */
  advanceSql(advances: Advance[]): string {
    for (const { publishedSeq, publishedStreamSeq } of advances) {
      if (!Number.isSafeInteger(publishedSeq) || !Number.isSafeInteger(publishedStreamSeq)) {
        throw new Error(`not a position: ${publishedSeq}, ${publishedStreamSeq}`);
      }
    }
    const list = (values: number[]) => `'{${values.join(',')}}'`;
    return `EXECUTE sg_relay_advance_many(${runIdList(advances.map((advance) => advance.runId))}, ${list(
      advances.map((advance) => advance.publishedSeq),
    )}, ${list(advances.map((advance) => advance.publishedStreamSeq))})`;
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
    maxBytes = BATCH_MAX_BYTES,
  ): Promise<PublishableEvent[]> {
    const { rows } = await client.query<PublishableEvent>(nextEvents('$1', '$3', '$2::text', '$4', '$5'), [
      run.runId,
      run.appPackage,
      afterSeq,
      limit,
      maxBytes,
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
