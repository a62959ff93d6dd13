import { Errors, EventType, newUlid, RunStatus } from '@screengraph/shared';
import { withTransaction } from '@screengraph/shared/postgres';
import type pg from 'pg';
import { AppendGroups, type AppendGroupsOptions } from './append-groups.js';
import { type IncomingEvent, planAppend, type StoredEventRef } from './plan-append.js';
import { RUN_COLUMNS, type Run, type RunRow, toRun } from './run-record.js';
import { commandVerb, decide, type LifecycleEvent, type RunCommand, type RunState } from './state-machine.js';

export interface StoredEvent {
  eventId: string;
  runId: string;
  appPackage: string;
  seq: number;
  type: EventType;
  occurredAt: string;
  recordedAt: string;
  data: Record<string, unknown>;
}

export interface AppendResult {
  /** False when every event was already stored: a retry that stored nothing. */
  stored: boolean;
  /** The ids this append stored (all of them, or the rest of a partly stored batch). */
  storedEventIds?: string[];
  events: { eventId: string; seq: number }[];
}

export interface ListRunsQuery {
  status?: RunStatus | undefined;
  appPackage?: string | undefined;
  after?: string | undefined;
  limit: number;
}

const UNIQUE_VIOLATION = '23505';

const INSERT_EVENTS_FROM_JSON = 'INSERT INTO run_events (run_id, seq, event_id, type, data, occurred_at, request_id)';

/** The rows `e(event_id, type, data, occurred_at, request_id, ord)` of a batch given as the JSON parameter `param`. */
function eventsFromJson(param: string): string {
  return `ROWS FROM (jsonb_to_recordset(${param}::jsonb)
    AS (event_id text, type run_event_type_enum, data jsonb, occurred_at timestamptz, request_id text)) WITH ORDINALITY
    AS e(event_id, type, data, occurred_at, request_id, ord)`;
}

/** A batch as one JSON parameter: one parse in PostgreSQL instead of an array literal per column. */
function eventsJson(events: IncomingEvent[]): string {
  return JSON.stringify(
    events.map((event) => ({
      event_id: event.eventId,
      type: event.type,
      data: event.data,
      occurred_at: event.occurredAt.toISOString(),
      request_id: event.requestId,
    })),
  );
}

/**
 * Runs and their event logs in the runs database; every state change writes its event in the same
 * transaction. After each commit that wrote a run's events, `committed` is told the run (the relay
 * and the live streams follow it).
 */
export class RunsRepository {
  /** Fast-path appends of different runs that arrive together, stored by one statement. */
  readonly appendGroups: AppendGroups;

  constructor(
    private readonly pool: pg.Pool,
    private readonly committed: (runId: string) => void = () => undefined,
    groups: AppendGroupsOptions = {},
  ) {
    this.appendGroups = new AppendGroups(
      pool,
      (append) => this.appendFast(append.runId, append.workerId, append.expectedSeq, append.events),
      groups,
    );
  }

  async create(appPackage: string, config: Record<string, unknown> | null): Promise<Run> {
    const data = config === null ? { appPackage } : { appPackage, config };
    const { rows } = await this.pool.query<RunRow>(
      `WITH run AS (
         INSERT INTO runs (run_id, app_package, config, last_seq) VALUES ($1, $2, $3, 1) RETURNING *
       ), outbox AS (
         INSERT INTO run_outbox (run_id) SELECT run_id FROM run
       ), event AS (
         INSERT INTO run_events (run_id, seq, event_id, type, data, occurred_at)
         SELECT run_id, 1, $4, $5, $6, created_at FROM run
       )
       SELECT ${RUN_COLUMNS} FROM run`,
      [newUlid(), appPackage, config, newUlid(), EventType.runCreated, data],
    );
    const run = toRun(one(rows));
    this.committed(run.runId);
    return run;
  }

  async get(runId: string): Promise<Run> {
    const { rows } = await this.pool.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = $1`, [runId]);
    const row = rows[0];
    if (!row) throw Errors.runNotFound(runId);
    return toRun(row);
  }

  /** Newest first; `after` is the last run id of the previous page. */
  async list(query: ListRunsQuery): Promise<Run[]> {
    const { rows } = await this.pool.query<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM runs
       WHERE ($1::run_status_enum IS NULL OR status = $1)
         AND ($2::text IS NULL OR app_package = $2)
         AND ($3::text IS NULL OR run_id < $3)
       ORDER BY run_id DESC
       LIMIT $4`,
      [query.status ?? null, query.appPackage ?? null, query.after ?? null, query.limit],
    );
    return rows.map(toRun);
  }

  /** The oldest queued run (of one app, when given), now running with `workerId`; null when none is queued. */
  async claim(workerId: string, appPackage: string | undefined): Promise<Run | null> {
    const run = await this.transaction(async (client) => {
      const { rows } = await client.query<RunRow>(
        `SELECT ${RUN_COLUMNS} FROM runs
         WHERE status = 'queued' AND ($1::text IS NULL OR app_package = $1)
         ORDER BY run_id
         LIMIT 1
         FOR UPDATE SKIP LOCKED`,
        [appPackage ?? null],
      );
      const row = rows[0];
      if (!row) return null;
      return this.apply(client, toRun(row), { type: 'claim', workerId });
    });
    if (run !== null) this.committed(run.runId);
    return run;
  }

  /** Claims, completes, fails or cancels a run; a repeated command returns the run unchanged. */
  async change(runId: string, command: RunCommand): Promise<Run> {
    const run = await this.transaction(async (client) => this.apply(client, await this.lock(client, runId), command));
    this.committed(runId);
    return run;
  }

  async heartbeat(runId: string, workerId: string): Promise<void> {
    const { rowCount } = await this.pool.query(
      `UPDATE runs SET last_activity_at = now() WHERE run_id = $1 AND status = 'running' AND worker_id = $2`,
      [runId, workerId],
    );
    if (rowCount === 1) return;
    const run = await this.get(runId);
    if (run.status !== RunStatus.running) throw Errors.runNotRunning(runId, run.status);
    throw Errors.workerMismatch(runId);
  }

  /**
   * Appends agent events to a running run held by `workerId`, all or nothing, under the run row
   * lock so seqs are gapless and become visible in order.
   *
   * The fast path is one statement: the UPDATE takes the row lock and reserves the seqs, the
   * INSERT stores the batch; appends of other runs that arrive meanwhile share it (AppendGroups). When the run is not appendable as asked (the UPDATE matches no
   * row) or an event id is already stored (the INSERT's unique violation undoes the statement),
   * the careful path works out the exact answer: a retry, a conflict, or a refusal.
   */
  async append(
    runId: string,
    workerId: string,
    expectedSeq: number | undefined,
    events: IncomingEvent[],
  ): Promise<AppendResult> {
    try {
      const firstSeq = await this.appendGroups.append({ runId, workerId, expectedSeq, events });
      if (firstSeq !== null) {
        this.committed(runId);
        return { stored: true, events: events.map((event, i) => ({ eventId: event.eventId, seq: firstSeq + i })) };
      }
    } catch (error) {
      if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
    }
    try {
      const result = await this.appendCarefully(runId, workerId, expectedSeq, events);
      if (result.stored) this.committed(runId);
      return result;
    } catch (error) {
      // Another run stored one of these ids between our lookup and our insert.
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
        throw Errors.eventIdConflict(events.map((event) => event.eventId).join(', '));
      }
      throw error;
    }
  }

  /** The first seq of the stored batch, or null when the run did not take it as asked. */
  private async appendFast(
    runId: string,
    workerId: string,
    expectedSeq: number | undefined,
    events: IncomingEvent[],
  ): Promise<number | null> {
    // Named: prepared once per connection, as this is the statement every append runs.
    const { rows } = await this.pool.query<{ first_seq: number | null }>({
      name: 'append-events',
      text: `WITH run AS (
         UPDATE runs SET last_seq = last_seq + $4, last_activity_at = now()
         WHERE run_id = $1 AND status = 'running' AND worker_id = $2 AND ($3::bigint IS NULL OR last_seq = $3)
         RETURNING run_id, last_seq - $4 + 1 AS first_seq
       ), inserted AS (
         ${INSERT_EVENTS_FROM_JSON}
         SELECT $1, run.first_seq + e.ord - 1, e.event_id, e.type, e.data, e.occurred_at, e.request_id
         FROM run, ${eventsFromJson('$5')}
       )
       SELECT first_seq FROM run`,
      values: [runId, workerId, expectedSeq ?? null, events.length, eventsJson(events)],
    });
    return rows[0]?.first_seq ?? null;
  }

  private async appendCarefully(
    runId: string,
    workerId: string,
    expectedSeq: number | undefined,
    events: IncomingEvent[],
  ): Promise<AppendResult> {
    return this.transaction(async (client) => {
      const run = await this.lock(client, runId);
      // Looked up after taking the lock, so a concurrent retry of the same batch is seen.
      const { rows: stored } = await client.query<StoredEventRef>(
        `SELECT event_id AS "eventId", run_id AS "runId", seq FROM run_events WHERE event_id = ANY($1::text[])`,
        [events.map((event) => event.eventId)],
      );
      const plan = planAppend({ runId, run, workerId, expectedSeq, events, stored });
      switch (plan.kind) {
        case 'replay':
          return { stored: false, events: plan.events };
        case 'append':
          await client.query(
            `WITH inserted AS (
               ${INSERT_EVENTS_FROM_JSON}
               SELECT $1, $2 + e.ord - 1, e.event_id, e.type, e.data, e.occurred_at, e.request_id
               FROM ${eventsFromJson('$4')}
             )
             UPDATE runs SET last_seq = $2 + $3 - 1, last_activity_at = now() WHERE run_id = $1`,
            [runId, plan.firstSeq, plan.insert.length, eventsJson(plan.insert)],
          );
          return { stored: true, events: plan.events, storedEventIds: plan.insert.map((event) => event.eventId) };
        case 'rejected':
          switch (plan.reason) {
            case 'event_id_conflict':
              throw Errors.eventIdConflict(plan.eventId);
            case 'not_running':
              throw Errors.runNotRunning(runId, run.status);
            case 'worker_mismatch':
              throw Errors.workerMismatch(runId);
            case 'seq_conflict':
              throw Object.assign(Errors.seqConflict(runId, plan.currentSeq, expectedSeq ?? 0), {
                currentSeq: plan.currentSeq,
              });
          }
      }
    });
  }

  /** A run's events after `afterSeq`, in seq order. */
  async events(runId: string, afterSeq: number, limit: number): Promise<{ run: Run; events: StoredEvent[] }> {
    const run = await this.get(runId);
    return { run, events: await selectEventsAfter(this.pool, run, afterSeq, limit) };
  }

  /** Fails running runs with neither an append nor a heartbeat for `idleTimeoutMs`; returns their ids. */
  async expireIdle(idleTimeoutMs: number, batchSize = 100): Promise<string[]> {
    const expired = await this.transaction(async (client) => {
      const { rows } = await client.query<RunRow>(
        `SELECT ${RUN_COLUMNS} FROM runs
         WHERE status = 'running' AND last_activity_at < now() - make_interval(secs => $1::double precision / 1000)
         ORDER BY last_activity_at
         LIMIT $2
         FOR UPDATE SKIP LOCKED`,
        [idleTimeoutMs, batchSize],
      );
      for (const row of rows) await this.apply(client, toRun(row), { type: 'expire' });
      return rows.map((row) => row.run_id);
    });
    for (const runId of expired) this.committed(runId);
    return expired;
  }

  private async lock(client: pg.PoolClient, runId: string): Promise<Run> {
    const { rows } = await client.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = $1 FOR UPDATE`, [
      runId,
    ]);
    const row = rows[0];
    if (!row) throw Errors.runNotFound(runId);
    return toRun(row);
  }

  /** Carries out a lifecycle command on a locked run: the new status and its event in one statement. */
  private async apply(client: pg.PoolClient, run: Run & RunState, command: RunCommand): Promise<Run> {
    const decision = decide(run, command);
    if (decision.kind === 'unchanged') return run;
    if (decision.kind === 'rejected') {
      if (decision.reason === 'worker_mismatch') throw Errors.workerMismatch(run.runId);
      throw Errors.invalidTransition(run.runId, run.status, commandVerb(command));
    }
    const { rows } = await client.query<RunRow>(
      `WITH run AS (
         UPDATE runs SET
           status = $2::run_status_enum, worker_id = $3, failure_reason = $4, last_seq = last_seq + 1,
           last_activity_at = now(),
           started_at = CASE WHEN $2::run_status_enum = 'running' THEN now() ELSE started_at END,
           finished_at = CASE WHEN $2::run_status_enum IN ('completed', 'failed', 'cancelled') THEN now() ELSE finished_at END
         WHERE run_id = $1
         RETURNING *
       ), event AS (
         INSERT INTO run_events (run_id, seq, event_id, type, data, occurred_at)
         SELECT run_id, last_seq, $5, $6::run_event_type_enum, $7, now() FROM run
       )
       SELECT ${RUN_COLUMNS} FROM run`,
      [
        run.runId,
        decision.status,
        decision.workerId,
        decision.failureReason,
        newUlid(),
        ...eventParams(decision.event),
      ],
    );
    return toRun(one(rows));
  }

  private transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, work);
  }
}

/** A run's events after `afterSeq`, in seq order, as envelopes. */
export async function selectEventsAfter(
  db: Pick<pg.Pool | pg.PoolClient, 'query'>,
  run: Pick<Run, 'runId' | 'appPackage'>,
  afterSeq: number,
  limit: number,
): Promise<StoredEvent[]> {
  const { rows } = await db.query<{
    eventId: string;
    seq: number;
    type: EventType;
    data: Record<string, unknown>;
    occurredAt: Date;
    recordedAt: Date;
  }>(
    `SELECT event_id AS "eventId", seq, type, data, occurred_at AS "occurredAt", recorded_at AS "recordedAt"
     FROM run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    [run.runId, afterSeq, limit],
  );
  return rows.map((row) => ({
    eventId: row.eventId,
    runId: run.runId,
    appPackage: run.appPackage,
    seq: row.seq,
    type: row.type,
    occurredAt: row.occurredAt.toISOString(),
    recordedAt: row.recordedAt.toISOString(),
    data: row.data,
  }));
}

function eventParams(event: LifecycleEvent): [string, unknown] {
  return [event.type, event.data];
}

function one<T>(rows: T[]): T {
  const [row] = rows;
  if (row === undefined) throw new Error('expected one row');
  return row;
}
