import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { headers } from '@nats-io/transport-node';
import { allRunEventsSubjects, RunEventHeaders, runEventsSubject } from '@screengraph/shared';
import type { StoredEvent } from '../runs/runs-repository.js';

export interface RunEventsStreamOptions {
  stream: string;
  subjectPrefix: string;
  /** Messages older than this are dropped by the stream (0: kept forever). */
  maxAgeMs: number;
  /** Re-publishes of an event id within this window are dropped by the broker. */
  duplicateWindowMs: number;
  publishTimeoutMs: number;
}

/** The last message on a run's subject: its stream sequence and run seq. */
export interface SubjectHead {
  streamSeq: number;
  runSeq: number;
}

/** JetStream's "wrong last sequence": the subject is not where the publisher expected it. */
const WRONG_LAST_SEQUENCE = 10071;

export class StreamPositionMismatch extends Error {}

const nanos = (ms: number) => ms * 1_000_000;

/** The `RUN_EVENTS` stream: set up idempotently, published to in each run's order. */
export class RunEventsStream {
  private readonly js: JetStreamClient;
  private readonly encoder = new TextEncoder();

  private constructor(
    private readonly jsm: JetStreamManager,
    nc: NatsConnection,
    readonly options: RunEventsStreamOptions,
  ) {
    this.js = jetstream(nc, { timeout: options.publishTimeoutMs });
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
   * Publishes one event, expecting its run's subject to be at `expectedStreamSeq` (0: empty).
   * Returns the event's stream sequence; a re-publish within the duplicate window returns the
   * original one. Throws StreamPositionMismatch when the subject is elsewhere.
   */
  async publish(event: StoredEvent, expectedStreamSeq: number): Promise<number> {
    const hdrs = headers();
    hdrs.set(RunEventHeaders.runId, event.runId);
    hdrs.set(RunEventHeaders.seq, String(event.seq));
    hdrs.set(RunEventHeaders.eventType, event.type);
    hdrs.set(RunEventHeaders.appPackage, event.appPackage);
    try {
      const ack = await this.js.publish(
        runEventsSubject(event.runId, this.options.subjectPrefix),
        this.encoder.encode(JSON.stringify(event)),
        { msgID: event.eventId, headers: hdrs, expect: { lastSubjectSequence: expectedStreamSeq } },
      );
      return ack.seq;
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) {
        throw new StreamPositionMismatch(error.message);
      }
      throw error;
    }
  }

  /** The newest message on a run's subject, or null when the subject is empty. */
  async head(runId: string): Promise<SubjectHead | null> {
    const message = await this.jsm.streams.getMessage(this.options.stream, {
      last_by_subj: runEventsSubject(runId, this.options.subjectPrefix),
    });
    if (message === null) return null;
    return { streamSeq: message.seq, runSeq: Number(message.header.get(RunEventHeaders.seq)) };
  }
}
