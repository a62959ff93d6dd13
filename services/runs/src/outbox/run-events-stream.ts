import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstreamManager,
  PubHeaders,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { allRunEventsSubjects, RunEventHeaders, runEventsSubject } from '@screengraph/shared';

export interface RunEventsStreamOptions {
  stream: string;
  subjectPrefix: string;
  /** Messages older than this are dropped by the stream (0: kept forever). */
  maxAgeMs: number;
  /** Re-publishes of an event id within this window are dropped by the broker. */
  duplicateWindowMs: number;
  publishTimeoutMs: number;
}

/** An event ready to publish: its envelope as JSON text, and what goes in the headers. */
export interface PublishableEvent {
  eventId: string;
  runId: string;
  appPackage: string;
  seq: number;
  type: string;
  envelope: string;
  /** The HTTP request that appended the event, when there was one. */
  requestId: string | null;
}

/** The last message on a run's subject: its stream sequence and run seq. */
export interface SubjectHead {
  streamSeq: number;
  runSeq: number;
}

/** JetStream's "wrong last sequence": the subject is not where the publisher expected it. */
const WRONG_LAST_SEQUENCE = 10071;

export class StreamPositionMismatch extends Error {}

/** A publish the broker refused or did not acknowledge in time. */
export class PublishFailed extends Error {}

interface PubAck {
  seq?: number;
  duplicate?: boolean;
  error?: { code: number; err_code?: number; description: string };
}

interface PendingAck {
  resolve: (streamSeq: number) => void;
  reject: (error: Error) => void;
  sentAt: number;
}

const nanos = (ms: number) => ms * 1_000_000;

/**
 * The `RUN_EVENTS` stream: set up idempotently, published to in each run's order.
 *
 * Publishing uses the client's core `publish` with a reply subject and one shared subscription
 * for the acknowledgements, instead of a request per message: the same PubAcks from JetStream at a
 * fraction of the client-side cost (measured: ~57k/s against ~15k/s for JetStream `publish` on 2
 * cores). Unanswered publishes fail after the publish timeout.
 */
export class RunEventsStream {
  private readonly encoder = new TextEncoder();
  private readonly inbox = createInbox();
  private readonly pending = new Map<string, PendingAck>();
  private readonly acks: Subscription;
  private readonly expiry: NodeJS.Timeout;
  private nextToken = 0;

  private constructor(
    private readonly jsm: JetStreamManager,
    private readonly nc: NatsConnection,
    readonly options: RunEventsStreamOptions,
  ) {
    this.acks = nc.subscribe(`${this.inbox}.*`, { callback: (_error, message) => this.acknowledged(message) });
    this.expiry = setInterval(() => this.expire(), Math.max(50, Math.min(options.publishTimeoutMs / 4, 500)));
    this.expiry.unref();
  }

  /** Creates or updates the stream to the options; safe to run from several instances at once. */
  static async open(nc: NatsConnection, options: RunEventsStreamOptions): Promise<RunEventsStream> {
    const jsm = await jetstreamManager(nc);
    const config = {
      name: options.stream,
      subjects: [allRunEventsSubjects(options.subjectPrefix)],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      max_age: nanos(options.maxAgeMs),
      duplicate_window: nanos(options.duplicateWindowMs),
    };
    try {
      await jsm.streams.update(options.stream, config);
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.StreamNotFound) throw error;
      await jsm.streams.add(config).catch(async (addError: unknown) => {
        // Another instance created it first: make sure it has our configuration.
        if (!(addError instanceof JetStreamApiError)) throw addError;
        await jsm.streams.update(options.stream, config);
      });
    }
    return new RunEventsStream(jsm, nc, options);
  }

  /**
   * Publishes one event; with `expectedStreamSeq`, only if its run's subject is at that stream
   * sequence (0: empty), else it throws StreamPositionMismatch. Returns the event's stream
   * sequence; a re-publish within the duplicate window returns the original one.
   */
  publish(event: PublishableEvent, expectedStreamSeq?: number): Promise<number> {
    const hdrs = headers();
    hdrs.set(PubHeaders.MsgIdHdr, event.eventId);
    if (expectedStreamSeq !== undefined) {
      hdrs.set(PubHeaders.ExpectedLastSubjectSequenceHdr, String(expectedStreamSeq));
    }
    hdrs.set(RunEventHeaders.runId, event.runId);
    hdrs.set(RunEventHeaders.seq, String(event.seq));
    hdrs.set(RunEventHeaders.eventType, event.type);
    hdrs.set(RunEventHeaders.appPackage, event.appPackage);
    if (event.requestId !== null) hdrs.set(RunEventHeaders.requestId, event.requestId);
    const token = String(this.nextToken++);
    const acked = new Promise<number>((resolve, reject) => {
      this.pending.set(token, { resolve, reject, sentAt: performance.now() });
    });
    try {
      this.nc.publish(runEventsSubject(event.runId, this.options.subjectPrefix), this.encoder.encode(event.envelope), {
        reply: `${this.inbox}.${token}`,
        headers: hdrs,
      });
    } catch (error) {
      this.pending.delete(token);
      return Promise.reject(error);
    }
    return acked;
  }

  /** The newest message on a run's subject, or null when the subject is empty. */
  async head(runId: string): Promise<SubjectHead | null> {
    const message = await this.jsm.streams.getMessage(this.options.stream, {
      last_by_subj: runEventsSubject(runId, this.options.subjectPrefix),
    });
    if (message === null) return null;
    return { streamSeq: message.seq, runSeq: Number(message.header.get(RunEventHeaders.seq)) };
  }

  close(): void {
    clearInterval(this.expiry);
    this.acks.unsubscribe();
    for (const pending of this.pending.values()) pending.reject(new PublishFailed('the stream was closed'));
    this.pending.clear();
  }

  private acknowledged(message: Msg): void {
    const token = message.subject.slice(this.inbox.length + 1);
    const pending = this.pending.get(token);
    if (!pending) return;
    this.pending.delete(token);
    if (message.data.length === 0) {
      // A status without a body: 503 when no stream takes the subject.
      pending.reject(new PublishFailed(`no acknowledgement: status ${message.headers?.code ?? 'unknown'}`));
      return;
    }
    const ack = message.json<PubAck>();
    if (ack.error) {
      const failure = `${ack.error.description} (${ack.error.err_code ?? ack.error.code})`;
      pending.reject(
        ack.error.err_code === WRONG_LAST_SEQUENCE ? new StreamPositionMismatch(failure) : new PublishFailed(failure),
      );
    } else if (typeof ack.seq === 'number') {
      pending.resolve(ack.seq);
    } else {
      pending.reject(new PublishFailed(`unexpected acknowledgement: ${message.string()}`));
    }
  }

  private expire(): void {
    const oldest = performance.now() - this.options.publishTimeoutMs;
    for (const [token, pending] of this.pending) {
      if (pending.sentAt > oldest) break;
      this.pending.delete(token);
      pending.reject(new PublishFailed(`no acknowledgement within ${this.options.publishTimeoutMs} ms`));
    }
  }
}
