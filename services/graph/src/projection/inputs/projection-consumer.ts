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
import {
  backoffDelay,
  partitionEventsSubjects,
  RUN_EVENTS_PARTITIONS,
  RunEventHeaders,
  unpartitionedEventsSubjects,
} from '@screengraph/shared';
import { type Delivery, type EventRef, type Handled, type Projector, refOfUnknown } from '../projector.js';
import { isTransient } from '../transient.js';

export interface ProjectionConsumerOptions {
  stream: string;
  subjectPrefix: string;
  /**
   * Durable consumers' name: one per partition (`<name>-p<n>`) and one of the unpartitioned
   * subjects of earlier versions (`<name>`); instances sharing it share the partitions.
   */
  durableName: string;
  /** Batches projected at once (a run is in one batch at a time, its events in order). */
  concurrency: number;
  /**
   * Messages the broker lets this instance hold unacknowledged, over the partitions it owns: the
   * memory bound. Each partition's consumer holds a share of it (at least PARTITION_MIN_PENDING).
   */
  maxAckPending: number;
  ackWaitMs: number;
  /** How long an ack may wait for others to share its socket write. */
  ackDelayMs: number;
  /** Bounds of one batch: its events, any one run's events, and the bytes of its messages. */
  batch?: { maxEvents?: number; maxRunEvents?: number; maxBytes?: number };
}

interface Logger {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
  child(bindings: object): Logger;
}

const nanos = (ms: number) => ms * 1_000_000;

/** An ack, and how long its confirmation is waited for before it is sent again (up to ACK_ATTEMPTS times). */
const ACK = new TextEncoder().encode('+ACK');
const ACK_CONFIRM_MS = 2000;
const ACK_ATTEMPTS = 15;

/** How long a pull request waits for messages before the client sends another. */
const PULL_EXPIRES_MS = 5000;

/** A partition's consumer holds at least this many unacknowledged messages: a run's full batch and more. */
const PARTITION_MIN_PENDING = 250;

/** A consumer of the stream: a partition's, or the one of unpartitioned subjects. */
type Source = number | 'unpartitioned';

/** Every consumer the projection reads: the unpartitioned one and each partition's. */
export const SOURCES: readonly Source[] = [
  'unpartitioned',
  ...Array.from({ length: RUN_EVENTS_PARTITIONS }, (_, i) => i),
];

/** The durable consumer of a source. */
export function durableOf(name: string, source: Source): string {
  return source === 'unpartitioned' ? name : `${name}-p${source}`;
}

/** The partition a message's subject names (`<prefix>.<partition>.<runId>.events`), if any. */
function partitionOf(subject: string): number | null {
  const tokens = subject.split('.');
  return tokens.length === 4 ? Number(tokens[1]) : null;
}

const decoder = new TextDecoder();

/** A message of a batch, and what the projector is handed for it. */
interface Received {
  message: JsMsg;
  delivery: Delivery;
  log: Logger;
}

/**
 * The durable pull consumers of RUN_EVENTS (explicit acks): one per partition this instance owns
 * (`own`/`disown`, told by the partition leases), and the one of unpartitioned subjects. Messages
 * wait in one queue per run; a batch takes what is ready, the next consecutive messages of each
 * waiting run (up to the bounds), several runs together, and the projector writes it in one
 * transaction. A run is in at most one batch at a time, so its events are projected in order. A
 * batch closes as soon as nothing more is ready: while one is written the next fills up, and a
 * single event of an idle system is projected at once. The messages are acknowledged after the
 * commit (terminated when poison). While the database is away a batch is retried in place with
 * backoff; while the runs service or the artifact store is, only the events that need it wait
 * (with their run's later events) and the rest of the batch goes on.
 */
export class ProjectionConsumer {
  private readonly queues = new Map<string, JsMsg[]>();
  /** Runs with messages waiting and no batch in flight, oldest first. */
  private readonly ready = new Set<string>();
  /** Runs in a batch being projected. */
  private readonly busy = new Set<string>();
  private readonly batches = new Set<Promise<void>>();
  private pumping = false;
  /** The sources to consume, and the messages of those being consumed. */
  private readonly wanted = new Set<Source>(['unpartitioned']);
  private readonly consuming = new Map<Source, ConsumerMessages>();
  private readonly loops = new Map<Source, Promise<void>>();
  private ensured = false;
  private stopped = false;
  private readonly wakers = new Set<() => void>();
  /** Acknowledgements waiting to share one socket write. */
  private readonly settled: { message: JsMsg; ack: boolean }[] = [];
  private settleTimer: NodeJS.Timeout | undefined;
  /** Acknowledgements sent and not confirmed yet. */
  private readonly confirming = new Set<Promise<void>>();
  /** Events per batch so far, for the mean batch size. */
  readonly stats = { batches: 0, events: 0 };
  private readonly bounds: Required<NonNullable<ProjectionConsumerOptions['batch']>>;

  constructor(
    private readonly nc: NatsConnection,
    private readonly projector: Projector,
    private readonly options: ProjectionConsumerOptions,
    private readonly log: Logger,
  ) {
    this.bounds = {
      maxEvents: options.batch?.maxEvents ?? 500,
      maxRunEvents: options.batch?.maxRunEvents ?? 200,
      maxBytes: options.batch?.maxBytes ?? 8 * 1024 * 1024,
    };
  }

  /** Unacknowledged messages one source's consumer may hold. */
  static pendingPerSource(options: ProjectionConsumerOptions): number {
    return Math.max(PARTITION_MIN_PENDING, Math.ceil(options.maxAckPending / RUN_EVENTS_PARTITIONS));
  }

  /** Creates the durable consumers (every partition's and the unpartitioned one), or brings existing ones to these options. */
  static async ensure(nc: NatsConnection, options: ProjectionConsumerOptions): Promise<void> {
    const jsm = await jetstreamManager(nc);
    await Promise.all(
      SOURCES.map(async (source) => {
        const config = {
          durable_name: durableOf(options.durableName, source),
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          filter_subject:
            source === 'unpartitioned'
              ? unpartitionedEventsSubjects(options.subjectPrefix)
              : partitionEventsSubjects(source, options.subjectPrefix),
          max_ack_pending: ProjectionConsumer.pendingPerSource(options),
          ack_wait: nanos(options.ackWaitMs),
          max_deliver: -1,
        };
        try {
          await jsm.consumers.add(options.stream, config);
        } catch (error) {
          if (!(error instanceof JetStreamApiError)) throw error;
          // It exists with other settings (or another instance made it first).
          const { durable_name: name, deliver_policy: _deliver, ...changeable } = config;
          await jsm.consumers.update(options.stream, name, changeable);
        }
      }),
    );
  }

  /** Makes the consumers (waiting for the stream, which the runs service creates), then consumes what is wanted until stopped. */
  async run(): Promise<void> {
    for (let attempt = 0; !this.stopped && !this.ensured; attempt++) {
      try {
        await ProjectionConsumer.ensure(this.nc, this.options);
        this.ensured = true;
      } catch (error) {
        if (this.stopped) return;
        if (attempt === 0) this.log.warn({ err: error }, 'cannot consume run events yet; retrying');
        await this.pause(backoffDelay(attempt, { initialMs: 250, maxMs: 5000 }));
      }
    }
    if (this.stopped) return;
    this.log.info({ stream: this.options.stream, consumer: this.options.durableName }, 'projecting run events');
    for (const source of this.wanted) this.startConsuming(source);
  }

  /** Starts consuming these partitions (once the consumers are made). */
  own(partitions: number[]): void {
    for (const partition of partitions) {
      this.wanted.add(partition);
      if (this.ensured) this.startConsuming(partition);
    }
  }

  /**
   * Stops consuming these partitions: the batches in flight finish and are acknowledged, what
   * waits of their runs goes back to the broker for the next owner. Resolves after that.
   */
  async disown(partitions: number[]): Promise<void> {
    const given = new Set(partitions);
    for (const partition of given) this.wanted.delete(partition);
    for (const wake of [...this.wakers]) wake();
    await Promise.all(
      partitions.map(async (partition) => {
        await this.consuming
          .get(partition)
          ?.close()
          .catch(() => undefined);
        await this.loops.get(partition);
      }),
    );
    await Promise.all(this.batches);
    for (const [runId, queue] of this.queues) {
      const waiting = queue.filter((message) => !given.has(partitionOf(message.subject) ?? -1));
      if (waiting.length === queue.length) continue;
      for (const message of queue) if (!waiting.includes(message)) message.nak();
      if (waiting.length > 0) this.queues.set(runId, waiting);
      else {
        this.queues.delete(runId);
        this.ready.delete(runId);
      }
    }
    this.settleNow();
  }

  /** Stops pulling, lets the batches in flight finish, and hands what waits back to the broker. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wanted.clear();
    for (const wake of [...this.wakers]) wake();
    await Promise.all([...this.consuming.values()].map((messages) => messages.close().catch(() => undefined)));
    await Promise.all(this.loops.values());
    await Promise.all(this.batches);
    for (const queue of this.queues.values()) for (const message of queue) message.nak();
    this.queues.clear();
    this.ready.clear();
    this.settleNow();
    // The last acks confirmed (at most their timeout each, the broker answering or not).
    await Promise.race([Promise.all(this.confirming), new Promise((resolve) => setTimeout(resolve, ACK_CONFIRM_MS))]);
  }

  private startConsuming(source: Source): void {
    if (this.loops.has(source)) return;
    const loop = this.consume(source).finally(() => this.loops.delete(source));
    this.loops.set(source, loop);
  }

  /** Consumes one source while it is wanted; starts it again when it closes (the broker's or the connection's doing). */
  private async consume(source: Source): Promise<void> {
    const name = durableOf(this.options.durableName, source);
    for (let attempt = 0; this.wanted.has(source) && !this.stopped; attempt++) {
      try {
        const consumer = await jetstream(this.nc).consumers.get(this.options.stream, name);
        if (!this.wanted.has(source) || this.stopped) return;
        const messages = await consumer.consume({
          max_messages: Math.min(ProjectionConsumer.pendingPerSource(this.options), 500),
          // A pull held by a consumer leader that died is noticed when its heartbeats stop (two
          // missed, at half this) and sent again to the next leader: 5 s instead of the default
          // 30 s bounds how long a consumer's leader change stalls its partition.
          expires: PULL_EXPIRES_MS,
          callback: (message) => this.dispatch(message),
        });
        this.consuming.set(source, messages);
        await messages.closed();
        this.consuming.delete(source);
        if (!this.wanted.has(source) || this.stopped) return;
        this.log.warn({ consumer: name }, 'event consumer closed; starting it again');
        attempt = 0;
      } catch (error) {
        this.consuming.delete(source);
        if (!this.wanted.has(source) || this.stopped) return;
        if (attempt === 0) this.log.warn({ err: error, consumer: name }, 'cannot consume run events; retrying');
      }
      await this.pause(backoffDelay(attempt, { initialMs: 250, maxMs: 5000 }));
    }
  }

  private dispatch(message: JsMsg): void {
    const partition = partitionOf(message.subject);
    // Stopped, or one of a partition given up still coming in: for whoever consumes it now.
    if (this.stopped || (partition !== null && !this.wanted.has(partition))) {
      message.nak();
      return;
    }
    const runId = message.subject.split('.').at(-2) ?? '';
    const queue = this.queues.get(runId) ?? [];
    // A redelivery of a message still waiting here: the waiting one is enough.
    if (queue.some((queued) => queued.seq === message.seq)) return;
    queue.push(message);
    this.queues.set(runId, queue);
    if (!this.busy.has(runId)) this.ready.add(runId);
    this.schedule();
  }

  /** Starts batches once the messages the client hands over together are all queued. */
  private schedule(): void {
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => {
      this.pumping = false;
      this.pump();
    });
  }

  private pump(): void {
    while (!this.stopped && this.batches.size < this.options.concurrency && this.ready.size > 0) {
      const taken = this.take();
      const batch = this.project(taken).finally(() => {
        this.batches.delete(batch);
        this.release(taken);
      });
      this.batches.add(batch);
    }
  }

  /** The runs of these messages may be in a batch again (with what waits of them). */
  private release(messages: Received[]): void {
    for (const runId of new Set(messages.map(({ delivery }) => delivery.ref.runId))) {
      if (!this.busy.delete(runId)) continue;
      if ((this.queues.get(runId)?.length ?? 0) > 0) this.ready.add(runId);
    }
    this.schedule();
  }

  /** What is ready, within the bounds: each ready run's next messages, oldest run first. */
  private take(): Received[] {
    const taken: Received[] = [];
    let bytes = 0;
    for (const runId of this.ready) {
      if (taken.length >= this.bounds.maxEvents || bytes >= this.bounds.maxBytes) break;
      const queue = this.queues.get(runId) ?? [];
      let count = 0;
      while (
        queue.length > 0 &&
        count < this.bounds.maxRunEvents &&
        taken.length < this.bounds.maxEvents &&
        (count === 0 || bytes < this.bounds.maxBytes)
      ) {
        const message = queue.shift() as JsMsg;
        bytes += message.data.length;
        count++;
        const received = this.receive(message);
        if (received) taken.push(received);
      }
      this.ready.delete(runId);
      this.busy.add(runId);
      if (queue.length === 0) this.queues.delete(runId);
    }
    return taken;
  }

  /** A message as the projector takes it; null when it names no run and seq (terminated at once). */
  private receive(message: JsMsg): Received | null {
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
      return null;
    }
    const delivery: Delivery =
      value === undefined
        ? { kind: 'unusable', ref, reason: 'the message is not JSON' }
        : { kind: 'envelope', ref, value };
    return { message, delivery, log };
  }

  /**
   * Projects a batch, retrying it while a dependency is away; then acknowledges each message. A
   * batch that fails otherwise is a bug: its events are recorded as rejected with the error
   * rather than held back for ever (and that is retried until the database takes it).
   */
  private async project(batch: Received[]): Promise<void> {
    let pending = batch;
    for (let attempt = 0; pending.length > 0; attempt++) {
      try {
        const handled = await this.projector.project(pending.map(({ delivery }) => delivery));
        this.stats.batches++;
        this.stats.events += pending.length;
        const later = pending.filter((received, i) => {
          const result = handled[i] ?? 'duplicate';
          if (result !== 'later') this.settle(received, result);
          return result === 'later';
        });
        // Runs with nothing held back may be in another batch already.
        this.release(
          pending.filter((received) => !later.some((held) => held.delivery.ref.runId === received.delivery.ref.runId)),
        );
        pending = later;
        if (pending.length === 0) return;
      } catch (error) {
        const rejectedAlready = pending.every(({ delivery }) => delivery.kind === 'rejected');
        if (!isTransient(error) && !rejectedAlready) {
          this.log.error({ err: error, events: pending.length }, 'projection failed; the batch is rejected');
          const reason = `projection failed: ${(error as Error).message}`;
          pending = pending.map((received) => ({
            ...received,
            delivery: { kind: 'rejected', ref: received.delivery.ref, reason },
          }));
          continue;
        }
        if (attempt === 0) this.log.warn({ err: error, events: pending.length }, 'projection retrying');
      }
      if (this.stopped) {
        for (const { message } of pending) message.nak();
        return;
      }
      for (const { message } of pending) message.working();
      await this.pause(backoffDelay(attempt, { initialMs: 200, maxMs: 5000 }));
    }
  }

  private settle({ message, delivery, log }: Received, handled: Handled): void {
    const { runId, seq } = delivery.ref;
    log.debug({ runId, seq, delivery: handled }, 'event projected');
    if (handled === 'not-in-log') {
      log.error({ runId, seq }, 'message names no event of the log; terminated');
      message.term();
      return;
    }
    // A poison message goes: terminated, it is not delivered again.
    this.settled.push({ message, ack: handled !== 'rejected' });
    if (this.settled.length === 1) this.settleTimer = setTimeout(() => this.settleNow(), this.options.ackDelayMs);
  }

  /**
   * Sends the acknowledgements gathered within `ackDelayMs`: the client writes what is published
   * within one microtask flush at once, so they are one socket write, and one read for the
   * broker, instead of one each. (An ack only tells the broker what is committed already:
   * delaying it delays nothing a reader sees. Stopping sends what is waiting.)
   */
  private settleNow(): void {
    clearTimeout(this.settleTimer);
    for (const { message, ack } of this.settled.splice(0)) {
      if (ack) {
        const confirming = this.confirmedAck(message).finally(() => this.confirming.delete(confirming));
        this.confirming.add(confirming);
      } else message.term();
    }
  }

  /**
   * Acknowledges a message and waits for the broker to confirm it, sending it again until it
   * does (bounded). In a cluster an ack sent to a consumer leader that dies is lost: its successor
   * holds the message unacknowledged until the ack wait (30 s), and at max_ack_pending of such
   * messages the partition's consumer delivers nothing more meanwhile. Sent again, the ack
   * reaches the next leader as soon as it is elected.
   */
  private async confirmedAck(message: JsMsg): Promise<void> {
    const reply = (message as unknown as { reply: string }).reply;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.nc.request(reply, ACK, { timeout: ACK_CONFIRM_MS });
        return;
      } catch {
        // Given up: the broker delivers it again after the ack wait, a duplicate the cursor drops.
        if (this.nc.isClosed() || attempt >= ACK_ATTEMPTS) return;
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, { initialMs: 250, maxMs: 2000 })));
      }
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
    // The event id; an event published again after a copy of it was withdrawn adds `~<sequence>`.
    eventId: headers?.get('Nats-Msg-Id')?.split('~')[0] || undefined,
    type: headers?.get(RunEventHeaders.eventType) || undefined,
  });
}
