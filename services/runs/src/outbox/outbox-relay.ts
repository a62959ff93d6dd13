import { withTwoTripTransaction } from '@screengraph/shared/postgres';
import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import { type Advance, BATCH_MAX_BYTES, type OutboxStore } from './outbox-store.js';
import { anchor, type Position, settle } from './publish-position.js';
import type { RunEventsStream } from './run-events-stream.js';

/** What a batch did: the runs that had more to publish than it took, where cursors reached, the first failure. */
interface BatchResult {
  more: string[];
  reached: Map<string, Position>;
  failure?: unknown;
}

/** Runs relayed in one transaction, at most: every run with events waiting, up to this. */
const RUNS_PER_BATCH = 32;

export interface OutboxRelayOptions {
  /** Runs relayed at once by this instance. */
  concurrency: number;
  /** Events published per cursor transaction (shared by the runs it relays). */
  batchSize: number;
  /** How often to look for runs with unpublished events that no commit notification announced. */
  sweepIntervalMs: number;
  /** Longest pause after repeated failures (broker down). */
  maxBackoffMs: number;
}

/**
 * Publishes every run's events to JetStream in seq order and advances the run's cursor after the
 * broker's acks. Commits announce their run (`announce`), so the relay wakes at once; a sweep
 * finds whatever was missed (a crash, another instance's leftovers). Several relays, in one
 * process or many, split runs by locking cursor rows with SKIP LOCKED.
 */
export class OutboxRelay {
  private readonly dirty = new Set<string>();
  private readonly inFlight = new Set<string>();
  /** Where this relay itself left each run (bounded, oldest dropped): no need to ask the stream. */
  private readonly leftAt = new Map<string, Position>();
  private wake: () => void = () => undefined;
  private wakeSignal = this.nextSignal();
  private stopped = false;
  private workers: Promise<void>[] = [];
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly store: OutboxStore,
    private readonly stream: RunEventsStream,
    private readonly log: FastifyBaseLogger,
    private readonly options: OutboxRelayOptions,
  ) {}

  /** A commit wrote events of this run. */
  announce(runId: string): void {
    this.dirty.add(runId);
    this.signal();
  }

  /** Notifications may have been missed (a listener reconnect): look at every lagging run. */
  sweepSoon(): void {
    void this.sweep();
  }

  start(): void {
    this.workers = Array.from({ length: this.options.concurrency }, () => this.work());
    this.sweepTimer = setInterval(() => void this.sweep(), this.options.sweepIntervalMs);
    this.sweepTimer.unref();
    void this.sweep();
  }

  /** Stops taking work and waits for the batches in flight to finish (or fail). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweepTimer);
    this.signal();
    await Promise.all(this.workers);
  }

  private async sweep(): Promise<void> {
    try {
      for (const runId of await this.store.lagging(1000)) this.dirty.add(runId);
      if (this.dirty.size > 0) this.signal();
    } catch (error) {
      this.log.warn({ err: error }, 'outbox sweep failed; retrying at the next interval');
    }
  }

  private async work(): Promise<void> {
    let failures = 0;
    // Runs this worker took that had more than their batch took: they stay in flight with it.
    let carried: string[] = [];
    while (!this.stopped) {
      const runIds = [...carried, ...this.take(RUNS_PER_BATCH - carried.length)];
      carried = [];
      if (runIds.length === 0) {
        await this.wakeSignal;
        continue;
      }
      for (const runId of runIds) this.inFlight.add(runId);
      try {
        carried = await this.relayBatch(runIds);
        failures = 0;
      } catch (error) {
        for (const runId of runIds) this.dirty.add(runId);
        failures++;
        const pauseMs = Math.min(100 * 2 ** (failures - 1), this.options.maxBackoffMs) * (0.5 + Math.random() / 2);
        this.log.warn({ err: error, runIds, pauseMs: Math.round(pauseMs) }, 'relay publish failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      } finally {
        for (const runId of runIds) if (!carried.includes(runId)) this.inFlight.delete(runId);
      }
    }
  }

  /**
   * Up to `count` of the longest-announced runs no worker of this relay is on. A run announced
   * while in flight stays announced: what was committed after its batch was read is taken by
   * the next batch.
   */
  private take(count: number): string[] {
    const taken: string[] = [];
    for (const runId of this.dirty) {
      if (taken.length >= count) break;
      if (this.inFlight.has(runId)) continue;
      this.dirty.delete(runId);
      taken.push(runId);
    }
    return taken;
  }

  /**
   * Publishes the next batch of unpublished events of each of `runIds` (those with any, that no
   * other relay holds) under their cursor locks, pipelined in one go: each run's first event
   * expects its subject's head, and one connection keeps the rest in order. Keeps whatever prefix
   * of a run was acknowledged even when a publish fails, and throws the first failure after the
   * commit. Returns the runs that had more events committed, when the batch was read, than the
   * batch took: at the rates of single agents a run is then one transaction a batch, without a
   * second one to find nothing left, and every run waiting shares that transaction.
   */
  private async relayBatch(runIds: string[]): Promise<string[]> {
    // Two round trips: the cursors are locked and the batches read with BEGIN, the cursors moved
    // with COMMIT. They move over what was acknowledged even when a publish failed.
    // The cursors' moves need not wait for their WAL flush: events are durable since their append,
    // and a move lost in a crash only has the batch published again, which the stream's head
    // (anchor) and duplicate window absorb. One flush a batch less on every relayed event.
    const limit = Math.max(1, Math.ceil(this.options.batchSize / runIds.length));
    const maxBytes = Math.max(1, Math.floor(BATCH_MAX_BYTES / runIds.length));
    const opening = `SET LOCAL synchronous_commit TO off; ${this.store.lockNextBatchesSql(runIds, limit, maxBytes)}`;
    const { more, reached, failure } = await withTwoTripTransaction<BatchResult>(
      this.pool,
      opening,
      async (opened, client) => {
        const batches = this.store.nextBatches(opened);
        // Where to start each run: where this relay left it, else where its subject is.
        const starts = await Promise.all(
          batches.map(async ({ cursor }) => {
            const from = { seq: cursor.publishedSeq, streamSeq: cursor.publishedStreamSeq };
            const known = this.leftAt.get(cursor.runId);
            this.leftAt.delete(cursor.runId);
            // The first publish expects `start.streamSeq`: if the subject moved since we left it,
            // that publish fails, we forget the run and ask the stream next time.
            return known?.seq === from.seq && known.streamSeq === from.streamSeq
              ? from
              : anchor(from, await this.stream.head(cursor.runId));
          }),
        );
        const published = [];
        for (const [i, { cursor, events: read }] of batches.entries()) {
          const start = starts[i] as Position;
          const events =
            start.seq === cursor.publishedSeq
              ? read
              : await this.store.unpublished(client, cursor, start.seq, limit, maxBytes);
          published.push({ cursor, start, events, outcomes: this.stream.publishBatch(events, start.streamSeq) });
        }
        const result: BatchResult = { more: [], reached: new Map() };
        const advances: Advance[] = [];
        for (const { cursor, start, events, outcomes } of published) {
          const { runId } = cursor;
          const settled = settle(
            start,
            events.map((event) => event.seq),
            await outcomes,
          );
          if (settled.stranded.length > 0) {
            // Only a broker that loses a message mid-batch yet stores later ones (a clustered
            // leader change) gets here; consumers see a gap and fill it from the runs API.
            this.log.error(
              { runId, stranded: settled.stranded, after: settled.reached.seq },
              'events published out of order after a partial failure',
            );
          }
          result.reached.set(runId, settled.reached);
          if (settled.reached.seq !== cursor.publishedSeq || settled.reached.streamSeq !== cursor.publishedStreamSeq) {
            advances.push({ runId, publishedSeq: settled.reached.seq, publishedStreamSeq: settled.reached.streamSeq });
          }
          if (settled.failure !== undefined) result.failure ??= settled.failure;
          else if (settled.reached.seq < cursor.lastSeq) result.more.push(runId);
        }
        return { value: result, ...(advances.length > 0 ? { closing: this.store.advanceSql(advances) } : {}) };
      },
      this.store.relayStatements,
    );
    for (const [runId, position] of reached) this.remember(runId, position);
    if (failure !== undefined) throw failure;
    return more;
  }

  private remember(runId: string, position: Position): void {
    this.leftAt.set(runId, position);
    if (this.leftAt.size > 10_000) {
      const oldest = this.leftAt.keys().next().value;
      if (oldest !== undefined) this.leftAt.delete(oldest);
    }
  }

  private signal(): void {
    const wake = this.wake;
    this.wakeSignal = this.nextSignal();
    wake();
  }

  private nextSignal(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }
}
