import type pg from 'pg';
import type { IncomingEvent } from './plan-append.js';

/** One request's fast-path append: its run, the worker it claims to be, the seq it expects, its events. */
export interface GroupedAppend {
  runId: string;
  workerId: string;
  expectedSeq: number | undefined;
  events: IncomingEvent[];
}

/** The first seq a fast-path append was stored at, or null when its run did not take it as asked. */
export type FastAppend = (append: GroupedAppend) => Promise<number | null>;

export interface AppendGroupsOptions {
  /** Group statements in flight at once; appends arriving meanwhile wait and go together. */
  inFlight?: number;
  /** Appends of more events than this go alone, at once: they share their commit among their own events. */
  maxGroupedEvents?: number;
  /** Events in one group at most. */
  maxEvents?: number;
}

interface Waiting extends GroupedAppend {
  resolve(firstSeq: number | null): void;
  reject(error: unknown): void;
}

/**
 * Appends of different runs that arrive together, stored by one statement and one commit.
 *
 * A commit costs PostgreSQL a WAL flush and the service two socket round trips; agents that each
 * append one event at a time would pay them once per event. So appends are queued, and the queue
 * is taken as a group whenever fewer than `inFlight` group statements are running: on an idle
 * service an append goes at once (no waiting to fill a group), under load every append that came
 * in while the statements ran goes in the next one. A group holds each run at most once (the next
 * append of a run waits for the group before it), so one statement never updates a run twice.
 *
 * The group statement keeps the fast path's all-or-nothing rule per append: the UPDATE reserves
 * seqs only for the runs that are running, held by the given worker and at the expected seq; the
 * appends it did not take get null (their callers go the careful way, one by one). A statement
 * error (an event id already stored, a deadlock with another instance's group) undoes the whole
 * group, and then each append is retried alone, where the error belongs to one request.
 */
export class AppendGroups {
  private readonly waiting: Waiting[] = [];
  private readonly busyRuns = new Set<string>();
  private running = 0;
  private scheduled = false;
  private readonly inFlight: number;
  private readonly maxGroupedEvents: number;
  private readonly maxEvents: number;
  /** Groups and appends stored by group statements (for the metrics and the tests). */
  readonly stats = { groups: 0, appends: 0 };

  constructor(
    private readonly pool: pg.Pool,
    private readonly alone: FastAppend,
    options: AppendGroupsOptions = {},
  ) {
    this.inFlight = options.inFlight ?? 1;
    this.maxGroupedEvents = options.maxGroupedEvents ?? 10;
    this.maxEvents = options.maxEvents ?? 200;
  }

  append(append: GroupedAppend): Promise<number | null> {
    if (append.events.length > this.maxGroupedEvents) return this.alone(append);
    return new Promise((resolve, reject) => {
      this.waiting.push({ ...append, resolve, reject });
      // After the I/O callbacks of this turn of the event loop: requests read together go together.
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  private pump(): void {
    while (this.running < this.inFlight) {
      const group = this.take();
      if (group.length === 0) return;
      this.running++;
      for (const append of group) this.busyRuns.add(append.runId);
      void this.store(group).finally(() => {
        this.running--;
        for (const append of group) this.busyRuns.delete(append.runId);
        this.pump();
      });
    }
  }

  /** The waiting appends of runs not in a running group, oldest first, one per run, up to `maxEvents`. */
  private take(): Waiting[] {
    const group: Waiting[] = [];
    const runs = new Set<string>();
    let events = 0;
    for (let i = 0; i < this.waiting.length; ) {
      const append = this.waiting[i] as Waiting;
      const fits = group.length === 0 || events + append.events.length <= this.maxEvents;
      if (this.busyRuns.has(append.runId) || runs.has(append.runId) || !fits) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      group.push(append);
      runs.add(append.runId);
      events += append.events.length;
    }
    return group;
  }

  private async store(group: Waiting[]): Promise<void> {
    if (group.length === 1) return this.storeAlone(group[0] as Waiting);
    let firstSeqs: Map<number, number>;
    try {
      firstSeqs = await this.storeTogether(group);
    } catch {
      await Promise.all(group.map((append) => this.storeAlone(append)));
      return;
    }
    this.stats.groups++;
    this.stats.appends += firstSeqs.size;
    group.forEach((append, i) => {
      append.resolve(firstSeqs.get(i + 1) ?? null);
    });
  }

  private async storeAlone(append: Waiting): Promise<void> {
    try {
      append.resolve(await this.alone(append));
    } catch (error) {
      append.reject(error);
    }
  }

  /** One statement for the group; the first seq of each append it stored, by its place (from 1). */
  private async storeTogether(group: Waiting[]): Promise<Map<number, number>> {
    // In run id order, as the UPDATE meets them: two instances' groups lock shared runs in one order.
    group.sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
    const events: unknown[] = [];
    group.forEach((append, i) => {
      append.events.forEach((event, ord) => {
        events.push({
          item: i + 1,
          ord: ord + 1,
          event_id: event.eventId,
          type: event.type,
          data: event.data,
          occurred_at: event.occurredAt.toISOString(),
          request_id: event.requestId,
        });
      });
    });
    const { rows } = await this.pool.query<{ item: string; first_seq: string }>({
      name: 'append-events-grouped',
      text: `WITH req AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::int[])
           WITH ORDINALITY AS r(run_id, worker_id, expected_seq, n, item)
       ), run AS (
         UPDATE runs SET last_seq = runs.last_seq + req.n, last_activity_at = now()
         FROM req
         WHERE runs.run_id = ANY($1::text[]) AND runs.run_id = req.run_id AND runs.status = 'running' AND runs.worker_id = req.worker_id
           AND (req.expected_seq IS NULL OR runs.last_seq = req.expected_seq)
         RETURNING req.item, runs.run_id, runs.last_seq - req.n + 1 AS first_seq
       ), inserted AS (
         INSERT INTO run_events (run_id, seq, event_id, type, data, occurred_at, request_id)
         SELECT run.run_id, run.first_seq + e.ord - 1, e.event_id, e.type, e.data, e.occurred_at, e.request_id
         FROM run JOIN ROWS FROM (jsonb_to_recordset($5::jsonb) AS (item bigint, ord bigint, event_id text,
           type run_event_type_enum, data jsonb, occurred_at timestamptz, request_id text)) AS e ON e.item = run.item
       )
       SELECT item, first_seq FROM run`,
      values: [
        group.map((append) => append.runId),
        group.map((append) => append.workerId),
        group.map((append) => append.expectedSeq ?? null),
        group.map((append) => append.events.length),
        JSON.stringify(events),
      ],
    });
    return new Map(rows.map((row) => [Number(row.item), Number(row.first_seq)]));
  }
}
