import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiError,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { allRunEventsSubjects, RunEventHeaders } from '@screengraph/shared';
import { isDatabaseUnavailable } from '@screengraph/shared/http';
import pg from 'pg';
import { ArtifactStoreUnavailable } from './artifact-bytes.js';
import { type EventRef, type Projector, refOfUnknown } from './projector.js';
import { NotInEventLog, RunsServiceUnavailable } from './runs-client.js';

export interface ProjectionConsumerOptions {
  stream: string;
  subjectPrefix: string;
  /** Durable consumer name: instances sharing it share the work. */
  durableName: string;
  /** Runs projected at once (a run's own events are always one at a time, in order). */
  concurrency: number;
  /** Messages the broker lets this consumer hold unacknowledged: the memory bound. */
  maxAckPending: number;
  ackWaitMs: number;
  /** How long an ack may wait for others to share its socket write. */
  ackDelayMs: number;
}

interface Logger {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
  child(bindings: object): Logger;
}

const nanos = (ms: number) => ms * 1_000_000;
const decoder = new TextDecoder();

/** Errors worth retrying: the database or the runs service is away, a deadlock, a lost connection. */
export function isTransient(error: unknown): boolean {
  if (error instanceof NotInEventLog) return false;
  if (error instanceof RunsServiceUnavailable || error instanceof ArtifactStoreUnavailable) return true;
  if (error instanceof pg.DatabaseError) return /^(08|40|53|55|57|58)/.test(error.code ?? '');
  // A connection that broke or could not be had is worth retrying; anything else is a bug, and
  // retrying a bug would hold its run back for ever.
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return true;
  return error instanceof Error && isDatabaseUnavailable(error);
}

/**
 * The durable pull consumer of RUN_EVENTS (explicit acks). Messages are dealt out to one queue per
 * run: runs are projected in parallel, each run's events one at a time in order. A message is
 * acknowledged after its transaction commits, terminated when it is poison (rejected), and retried
 * in place with backoff while the database or the runs service is away.
 */
export class ProjectionConsumer {
  private readonly queues = new Map<string, JsMsg[]>();
  private readonly waiting: string[] = [];
  private readonly workers = new Set<Promise<void>>();
  private messages: ConsumerMessages | undefined;
  private stopped = false;
  private readonly wakers = new Set<() => void>();
  /** Acknowledgements waiting for the end of this turn of the event loop: one socket write for all. */
  private readonly settled: { message: JsMsg; ack: boolean }[] = [];
  private settleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly projector: Projector,
    private readonly options: ProjectionConsumerOptions,
    private readonly log: Logger,
  ) {}

  /** Creates the durable consumer, or brings an existing one to these options. */
  static async ensure(nc: NatsConnection, options: ProjectionConsumerOptions): Promise<void> {
    const jsm = await jetstreamManager(nc);
    const config = {
      durable_name: options.durableName,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: allRunEventsSubjects(options.subjectPrefix),
      max_ack_pending: options.maxAckPending,
      ack_wait: nanos(options.ackWaitMs),
      max_deliver: -1,
    };
    try {
      await jsm.consumers.add(options.stream, config);
    } catch (error) {
      if (!(error instanceof JetStreamApiError)) throw error;
      // It exists with other settings (or another instance made it first).
      const { durable_name: _name, deliver_policy: _deliver, ...changeable } = config;
      await jsm.consumers.update(options.stream, options.durableName, changeable);
    }
  }

  /** Consumes until stopped; waits for the stream (the runs service creates it) if it is not there yet. */
  async run(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await ProjectionConsumer.ensure(this.nc, this.options);
        const consumer = await jetstream(this.nc).consumers.get(this.options.stream, this.options.durableName);
        if (this.stopped) return;
        this.messages = await consumer.consume({
          max_messages: Math.min(this.options.maxAckPending, 500),
          callback: (message) => this.dispatch(message),
        });
        this.log.info({ stream: this.options.stream, consumer: this.options.durableName }, 'projecting run events');
        await this.messages.closed();
        if (this.stopped) return;
        this.log.warn({}, 'event consumer closed; starting it again');
        attempt = 0;
      } catch (error) {
        if (this.stopped) return;
        if (attempt === 0) this.log.warn({ err: error }, 'cannot consume run events yet; retrying');
      }
      await this.pause(Math.min(250 * 2 ** attempt, 5000));
    }
  }

  /** Stops pulling, lets every run finish the event it is on, and hands the rest back to the broker. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of [...this.wakers]) wake();
    await this.messages?.close().catch(() => undefined);
    await Promise.all(this.workers);
    this.settleNow();
  }

  private dispatch(message: JsMsg): void {
    if (this.stopped) {
      message.nak();
      return;
    }
    const runId = message.subject.split('.').at(-2) ?? '';
    const queue = this.queues.get(runId);
    if (queue) {
      // A redelivery of a message still waiting here: the waiting one is enough.
      if (!queue.some((queued) => queued.seq === message.seq)) queue.push(message);
      return;
    }
    this.queues.set(runId, [message]);
    if (this.workers.size < this.options.concurrency) this.startWorker(runId);
    else this.waiting.push(runId);
  }

  private startWorker(runId: string): void {
    const worker = this.drain(runId).finally(() => {
      this.workers.delete(worker);
      const next = this.waiting.shift();
      if (next !== undefined) this.startWorker(next);
    });
    this.workers.add(worker);
  }

  private async drain(runId: string): Promise<void> {
    const queue = this.queues.get(runId) ?? [];
    for (let message = queue[0]; message !== undefined; message = queue[0]) {
      if (this.stopped) {
        for (const left of queue) left.nak();
        break;
      }
      await this.process(message);
      queue.shift();
    }
    this.queues.delete(runId);
  }

  private async process(message: JsMsg): Promise<void> {
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(message.data));
    } catch {
      value = undefined;
    }
    // The id of the request that appended the event, on every line logged about it.
    const requestId = message.headers?.get(RunEventHeaders.requestId) || undefined;
    const log = requestId === undefined ? this.log : this.log.child({ reqId: requestId });
    const ref = refOfUnknown(value) ?? refOfHeaders(message);
    if (ref === null) {
      log.error({ subject: message.subject, streamSeq: message.seq }, 'message names no run and seq; terminated');
      message.term();
      return;
    }
    let rejection: string | null = null;
    for (let attempt = 0; ; attempt++) {
      try {
        const delivery =
          rejection !== null
            ? await this.projector.reject(ref, rejection, log)
            : value === undefined
              ? await this.projector.handleUnusable(ref, 'the message is not JSON', log)
              : await this.projector.handleEnvelope(value, ref, log);
        log.debug({ runId: ref.runId, seq: ref.seq, delivery }, 'event projected');
        this.settle(message, delivery !== 'rejected');
        return;
      } catch (error) {
        if (error instanceof NotInEventLog) {
          // Nothing in the event log to project or to record: the message goes.
          log.error({ err: error, runId: ref.runId, seq: ref.seq }, 'message names no event of the log; terminated');
          message.term();
          return;
        }
        if (rejection === null && !isTransient(error)) {
          // A bug or a value the database refuses: the event is rejected, the run goes on.
          log.error({ err: error, runId: ref.runId, seq: ref.seq }, 'projection failed');
          rejection = `projection failed: ${(error as Error).message}`;
          continue;
        }
        if (this.stopped) {
          message.nak();
          return;
        }
        if (attempt === 0) log.warn({ err: error, runId: ref.runId, seq: ref.seq }, 'projection retrying');
        message.working();
        await this.pause(Math.min(200 * 2 ** attempt, 5000));
      }
    }
  }

  /**
   * Acks (or terminates) a message within `ackDelayMs`, with the others settled meanwhile. The
   * client writes what is published within one microtask flush at once, so the acks gathered are
   * one socket write, and one read for the broker, instead of one each. (An ack only tells the
   * broker what is committed already: delaying it delays nothing a reader sees. Stopping sends
   * what is waiting.)
   */
  private settle(message: JsMsg, ack: boolean): void {
    if (this.settled.push({ message, ack }) > 1) return;
    this.settleTimer = setTimeout(() => this.settleNow(), this.options.ackDelayMs);
  }

  private settleNow(): void {
    clearTimeout(this.settleTimer);
    for (const { message, ack } of this.settled.splice(0)) {
      if (ack) message.ack();
      else message.term();
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }
}

function refOfHeaders(message: JsMsg): EventRef | null {
  const headers = message.headers;
  const runId = headers?.get(RunEventHeaders.runId) || message.subject.split('.').at(-2) || '';
  return refOfUnknown({
    runId,
    seq: Number(headers?.get(RunEventHeaders.seq)),
    appPackage: headers?.get(RunEventHeaders.appPackage) || undefined,
    eventId: headers?.get('Nats-Msg-Id') || undefined,
    type: headers?.get(RunEventHeaders.eventType) || undefined,
  });
}
