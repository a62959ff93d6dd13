import type { FastifyBaseLogger } from 'fastify';
import type pg from 'pg';
import { type StoredEvent, selectEventsAfter } from '../runs/runs-repository.js';
import type { OutboxCursor, OutboxStore } from './outbox-store.js';
import { reconcile } from './reconcile.js';
import { type RunEventsStream, StreamPositionMismatch } from './run-events-stream.js';

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
        while (!this.stopped && (await this.relayBatch(runId))) {}
        failures = 0;
      } catch (error) {
        this.dirty.add(runId);
        failures++;
        const pauseMs = Math.min(100 * 2 ** (failures - 1), this.options.maxBackoffMs) * (0.5 + Math.random() / 2);
        this.log.warn({ err: error, runId, pauseMs: Math.round(pauseMs) }, 'relay publish failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      } finally {
        this.inFlight.delete(runId);
      }
    }
  }

  /** The longest-announced run no worker of this relay is on; a run in flight re-checks itself after each batch. */
  private take(): string | undefined {
    for (const runId of this.dirty) {
      this.dirty.delete(runId);
      if (!this.inFlight.has(runId)) return runId;
    }
    return undefined;
  }

  /**
   * Publishes the next batch of a run's unpublished events under its cursor lock; keeps whatever
   * was acknowledged even when a publish fails part-way. True when it published something.
   */
  private async relayBatch(runId: string): Promise<boolean> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const cursor = await this.store.lockLagging(client, runId);
      if (cursor === null) {
        await client.query('COMMIT');
        return false;
      }
      const events = await selectEventsAfter(client, cursor, cursor.publishedSeq, this.options.batchSize);
      const position = { seq: cursor.publishedSeq, streamSeq: cursor.publishedStreamSeq };
      try {
        for (const event of events) {
          if (event.seq <= position.seq) continue;
          Object.assign(position, await this.publishInOrder(event, position.streamSeq));
        }
      } finally {
        if (position.seq > cursor.publishedSeq)
          await this.store.advance(client, runId, position.seq, position.streamSeq);
        await client.query('COMMIT');
      }
      return events.length > 0;
    } catch (error) {
      broken = await client.query('ROLLBACK').then(
        () => false,
        () => true,
      );
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** Publishes an event right after the run's previous one in the stream; the position it reached. */
  private async publishInOrder(
    event: StoredEvent,
    expectedStreamSeq: number,
  ): Promise<{ seq: number; streamSeq: number }> {
    let expected = expectedStreamSeq;
    for (let attempt = 0; ; attempt++) {
      try {
        return { seq: event.seq, streamSeq: await this.stream.publish(event, expected) };
      } catch (error) {
        if (!(error instanceof StreamPositionMismatch) || attempt >= 2) throw error;
        const next = reconcile(await this.stream.head(event.runId), event.seq);
        if (next.kind === 'skip') return { seq: next.publishedSeq, streamSeq: next.streamSeq };
        this.log.warn(
          { runId: event.runId, seq: event.seq, expected, head: next.expectedStreamSeq },
          're-anchoring run subject',
        );
        expected = next.expectedStreamSeq;
      }
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

export type { OutboxCursor };
