import { backoffDelay } from '@screengraph/shared';
import { withTwoTripTransaction } from '@screengraph/shared/postgres';
import type { FastifyBaseLogger } from 'fastify';
import { LRUCache } from 'lru-cache';
import type pg from 'pg';
import type { OutboxStore } from './outbox-store.js';
import { anchor, type Position, type Settlement, settle } from './publish-position.js';
import type { PublishableEvent, RunEventsStream } from './run-events-stream.js';

/** Attempts at deleting the copies a broker stored out of place, with backoff: longer than an election. */
const WITHDRAW_ATTEMPTS = 30;

/** What a batch did: whether the run had more to publish than it took, where its cursor reached, the first failure. */
interface BatchResult {
  more: boolean;
  reached?: Position;
  failure?: unknown;
}

export interface OutboxRelayOptions {
  /** Runs relayed at once by this instance. */
  concurrency: number;
  /** Events published per cursor transaction. */
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
  private readonly leftAt = new LRUCache<string, Position>({ max: 10_000 });
  /** When a publish of each run last failed here: a broker that failed may have stored later events and not earlier ones. */
  private readonly failedAt = new LRUCache<string, number>({ max: 10_000 });
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
    while (!this.stopped) {
      const runId = this.take();
      if (runId === undefined) {
        await this.wakeSignal;
        continue;
      }
      this.inFlight.add(runId);
      try {
        // A run announced again while in flight stays in `dirty`: its worker takes it once more.
        while (!this.stopped && (await this.relayBatch(runId))) {}
        failures = 0;
      } catch (error) {
        this.failedAt.set(runId, Date.now());
        this.dirty.add(runId);
        failures++;
        const pauseMs = backoffDelay(failures - 1, { initialMs: 100, maxMs: this.options.maxBackoffMs });
        this.log.warn({ err: error, runId, pauseMs: Math.round(pauseMs) }, 'relay publish failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      } finally {
        this.inFlight.delete(runId);
      }
    }
  }

  /**
   * The longest-announced run no worker of this relay is on. A run announced while in flight
   * stays announced: what was committed after its batch was read is taken by the next batch.
   */
  private take(): string | undefined {
    for (const runId of this.dirty) {
      if (this.inFlight.has(runId)) continue;
      this.dirty.delete(runId);
      return runId;
    }
    return undefined;
  }

  /**
   * Publishes the next batch of a run's unpublished events under its cursor lock, pipelined in one
   * go: the first event expects the subject's head, and one connection keeps the rest in order.
   * Keeps whatever prefix was acknowledged even when a publish fails. True when the run had more
   * events committed, when the batch was read, than the batch took: at the rates of single agents
   * a run is then one transaction a batch, without a second one to find nothing left.
   */
  private async relayBatch(runId: string): Promise<boolean> {
    // Two round trips: the cursor is locked and the batch read with BEGIN, the cursor moved with
    // COMMIT. It moves over what was acknowledged even when a publish failed; the failure is
    // thrown after that commit.
    // The cursor's move need not wait for its WAL flush: events are durable since their append,
    // and a move lost in a crash only has the batch published again, which the stream's head
    // (anchor) and duplicate window absorb. One flush a batch less on every relayed event.
    const opening = `SET LOCAL synchronous_commit TO off; ${this.store.lockNextBatchSql(runId, this.options.batchSize)}`;
    const { more, reached, failure } = await withTwoTripTransaction<BatchResult>(
      this.pool,
      opening,
      async (opened, client) => {
        const batch = this.store.nextBatch(opened);
        if (batch === null) return { value: { more: false } };
        const { cursor } = batch;
        const from = { seq: cursor.publishedSeq, streamSeq: cursor.publishedStreamSeq };
        // The first publish expects `start.streamSeq`: if the subject moved since we left it, that
        // publish fails, we forget the run and ask the stream next time.
        const known = this.leftAt.get(runId);
        let start =
          known?.seq === from.seq && known.streamSeq === from.streamSeq
            ? from
            : anchor(from, await this.stream.head(runId));
        this.leftAt.delete(runId);
        if (start.seq > from.seq && this.failedRecently(runId)) {
          // The subject is ahead of the cursor after a failure of ours: a stream leader that died
          // may have lost some of those events while its successor stored later ones, so the
          // head does not prove they are all there. Within the duplicate window, sending them all
          // again stores only the missing, and the broker drops the rest by id; when one was
          // missing, the copies after it are acknowledged below it, and are withdrawn.
          const refill = await this.store.unpublished(client, cursor, from.seq, start.seq - from.seq);
          const settled = settle(
            from,
            refill.map((event) => event.seq),
            await this.stream.publishBatch(refill),
          );
          if (settled.failure !== undefined) return this.afterFailure(runId, from, refill, settled);
          start = settled.reached;
        }
        const events =
          start.seq === from.seq
            ? batch.events
            : await this.store.unpublished(client, cursor, start.seq, this.options.batchSize);
        const outcomes = await this.stream.publishBatch(events, start.streamSeq);
        const settled = settle(
          start,
          events.map((event) => event.seq),
          outcomes,
        );
        if (settled.failure !== undefined) return this.afterFailure(runId, from, events, settled);
        return {
          value: { more: settled.reached.seq < cursor.lastSeq, reached: settled.reached },
          ...this.advance(runId, from, settled.reached),
        };
      },
      this.store.relayStatements,
    );
    if (failure !== undefined) throw failure;
    if (reached !== undefined) this.remember(runId, reached);
    return more;
  }

  /** The cursor's move to `reached`, when it moved. */
  private advance(runId: string, from: Position, reached: Position): { closing?: string } {
    if (reached.seq === from.seq && reached.streamSeq === from.streamSeq) return {};
    return { closing: this.store.advanceSql(runId, reached.seq, reached.streamSeq) };
  }

  /**
   * After a failed publish: the cursor moves over the acknowledged prefix, and copies the broker
   * holds out of place are withdrawn, so that the stream keeps the run in order. A broker can lose
   * messages mid-batch yet store later ones (a stream leader killed or stepping down in a NATS
   * cluster: what was in flight to it is gone, what came after reaches the next leader). The
   * retry sends the lost ones again, and the later ones, acknowledged as repeats at lower stream
   * sequences, show where they stand: they are deleted, and published again after the lost ones
   * under msg ids of their own (the broker remembers their first ones for its duplicate window).
   */
  private async afterFailure(
    runId: string,
    from: Position,
    events: PublishableEvent[],
    settled: Settlement,
  ): Promise<{ value: BatchResult; closing?: string }> {
    const result = {
      value: { more: true, reached: settled.reached, failure: settled.failure },
      ...this.advance(runId, from, settled.reached),
    };
    if (settled.misplaced.length === 0) return result;
    const bySeq = new Map(events.map((event) => [event.seq, event.eventId]));
    const copies = settled.misplaced.map(({ seq, streamSeq }) => ({ eventId: bySeq.get(seq) as string, streamSeq }));
    for (let attempt = 0; ; attempt++) {
      try {
        await this.stream.withdraw(copies);
        break;
      } catch (error) {
        if (this.stopped || attempt >= WITHDRAW_ATTEMPTS) {
          // Left in place, they are found again: the next publishes of those events are acknowledged
          // as repeats below their predecessors.
          this.log.warn({ err: error, runId }, 'cannot withdraw events stored out of order yet');
          return result;
        }
        await new Promise((resolve) =>
          setTimeout(resolve, backoffDelay(attempt, { initialMs: 100, maxMs: this.options.maxBackoffMs })),
        );
      }
    }
    this.log.warn(
      { runId, withdrawn: settled.misplaced.map((copy) => copy.seq), after: settled.reached.seq },
      'events the broker stored out of order withdrawn from the stream; published again in order',
    );
    return result;
  }

  private failedRecently(runId: string): boolean {
    const at = this.failedAt.get(runId);
    return at !== undefined && Date.now() - at < this.stream.options.duplicateWindowMs;
  }

  private remember(runId: string, position: Position): void {
    this.leftAt.set(runId, position);
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
