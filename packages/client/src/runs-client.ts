import {
  type AgentEventType,
  backoffDelay,
  type EventData,
  isTerminal,
  isTerminalEvent,
  newUlid,
  parseRunEvent,
  type RunEvent,
  type RunStatus,
} from '@screengraph/shared';
import type {
  AppendResultSchema,
  ArtifactSchema,
  EventPageSchema,
  OutboxSchema,
  ReplaySchema,
  RunPageSchema,
  RunSchema,
  SnapshotReceiptSchema,
  SnapshotSchema,
} from '@screengraph/shared/api/runs';
import type { Static } from 'typebox';
import { readSse } from './sse.js';
import { ApiError, type ServiceOptions, Transport } from './transport.js';

export type Run = Static<typeof RunSchema>;
export type RunPage = Static<typeof RunPageSchema>;
export type AppendResult = Static<typeof AppendResultSchema>;
export type EventPage = Static<typeof EventPageSchema>;
export type Outbox = Static<typeof OutboxSchema>;
export type Artifact = Static<typeof ArtifactSchema>;
export type ArtifactKind = Artifact['kind'];
export type Snapshot = Static<typeof SnapshotSchema>;
export type SnapshotReceipt = Static<typeof SnapshotReceiptSchema>;
export type Replay = Static<typeof ReplaySchema>;

/** An event an agent appends; the client gives it an id (and a time) once, so a retry stores it once. */
export type AgentEvent = {
  [T in AgentEventType]: { type: T; data: EventData<T>; eventId?: string; occurredAt?: string | Date };
}[AgentEventType];

/** The most events one append takes (the service's limit). */
export const MAX_EVENTS_PER_APPEND = 500;

const path = (runId: string, rest = '') => `/runs/${encodeURIComponent(runId)}${rest}`;

/** The runs service: runs, their events, artifacts and snapshots. */
export class RunsClient {
  readonly transport: Transport;

  constructor(options: ServiceOptions) {
    this.transport = new Transport(options);
  }

  createRun(appPackage: string, config?: Record<string, unknown>): Promise<Run> {
    // Not idempotent: a retry after a lost response would create a second run.
    return this.transport.json({
      method: 'POST',
      path: '/runs',
      body: { json: { appPackage, config } },
      idempotent: false,
    });
  }

  getRun(runId: string): Promise<Run> {
    return this.transport.json({ method: 'GET', path: path(runId), idempotent: true });
  }

  listRuns(filter: { status?: RunStatus; appPackage?: string; after?: string; limit?: number } = {}): Promise<RunPage> {
    return this.transport.json({ method: 'GET', path: '/runs', query: filter, idempotent: true });
  }

  /** Every run matching the filter, newest first, page by page. */
  async *allRuns(filter: { status?: RunStatus; appPackage?: string } = {}): AsyncGenerator<Run> {
    let after: string | undefined;
    do {
      const page = await this.listRuns({ ...filter, after, limit: 500 });
      yield* page.runs;
      after = page.nextAfter ?? undefined;
    } while (after !== undefined);
  }

  /** Takes the oldest queued run (of one app, if given) for this worker; null when none is queued. */
  async claim(workerId: string, appPackage?: string): Promise<Run | null> {
    const response = await this.transport.send({
      method: 'POST',
      path: '/runs/claim',
      body: { json: { workerId, appPackage } },
      idempotent: false,
    });
    return response.status === 204 ? null : ((await response.json()) as Run);
  }

  /** Claims a given queued run (one this agent created); claiming it again is a retry. */
  claimRun(runId: string, workerId: string): Promise<Run> {
    return this.lifecycle(runId, 'claim', { workerId });
  }

  complete(runId: string, workerId: string): Promise<Run> {
    return this.lifecycle(runId, 'complete', { workerId });
  }

  fail(runId: string, workerId: string, reason: string): Promise<Run> {
    return this.lifecycle(runId, 'fail', { workerId, reason });
  }

  cancel(runId: string, reason?: string): Promise<Run> {
    return this.lifecycle(runId, 'cancel', reason === undefined ? {} : { reason });
  }

  async heartbeat(runId: string, workerId: string): Promise<void> {
    await this.transport.send({
      method: 'POST',
      path: path(runId, '/heartbeat'),
      body: { json: { workerId } },
      idempotent: true,
    });
  }

  /**
   * Appends a batch (at most 500 events) in one transaction. Events get their ids here, before the
   * first attempt, so a retry after a dropped connection stores each event once.
   */
  append(
    runId: string,
    workerId: string,
    events: AgentEvent[],
    options: { expectedSeq?: number } = {},
  ): Promise<AppendResult> {
    return this.transport.json({
      method: 'POST',
      path: path(runId, '/events'),
      body: { json: { workerId, expectedSeq: options.expectedSeq, events: events.map(withIdentity) } },
      idempotent: true,
    });
  }

  /** Appends any number of events in batches of `batchSize`, in order; the last batch's result. */
  async appendAll(
    runId: string,
    workerId: string,
    events: AgentEvent[],
    batchSize = MAX_EVENTS_PER_APPEND,
  ): Promise<AppendResult | null> {
    let last: AppendResult | null = null;
    for (let start = 0; start < events.length; start += batchSize) {
      last = await this.append(runId, workerId, events.slice(start, start + batchSize));
    }
    return last;
  }

  events(runId: string, options: { afterSeq?: number; limit?: number } = {}): Promise<EventPage> {
    return this.transport.json({ method: 'GET', path: path(runId, '/events'), query: options, idempotent: true });
  }

  /** Every stored event of a run after `afterSeq`, page by page. */
  async *allEvents(runId: string, afterSeq = 0): AsyncGenerator<RunEvent> {
    let after: number | null = afterSeq;
    while (after !== null) {
      const page = await this.events(runId, { afterSeq: after, limit: 1000 });
      for (const event of page.events) yield parseRunEvent(event);
      after = page.nextAfterSeq;
    }
  }

  outbox(runId: string): Promise<Outbox> {
    return this.transport.json({ method: 'GET', path: path(runId, '/outbox'), idempotent: true });
  }

  /**
   * Stores a file. Retried like an idempotent call: the bytes are content-addressed, so a repeat
   * stores nothing twice (at worst it indexes a second id for the same bytes).
   */
  uploadArtifact(runId: string, kind: ArtifactKind, bytes: Uint8Array, contentType: string): Promise<Artifact> {
    return this.transport.json({
      method: 'POST',
      path: path(runId, '/artifacts'),
      query: { kind },
      body: { bytes, contentType },
      idempotent: true,
    });
  }

  async listArtifacts(runId: string): Promise<Artifact[]> {
    const { artifacts } = await this.transport.json<{ artifacts: Artifact[] }>({
      method: 'GET',
      path: path(runId, '/artifacts'),
      idempotent: true,
    });
    return artifacts;
  }

  /** An artifact's bytes and media type. */
  async downloadArtifact(runId: string, artifactId: string): Promise<{ bytes: Uint8Array; contentType: string }> {
    const response = await this.transport.send({
      method: 'GET',
      path: path(runId, `/artifacts/${encodeURIComponent(artifactId)}/content`),
      headers: { accept: '*/*' },
      idempotent: true,
    });
    return {
      bytes: new Uint8Array(await response.arrayBuffer()),
      contentType: response.headers.get('content-type') ?? 'application/octet-stream',
    };
  }

  saveSnapshot(
    runId: string,
    snapshot: { workerId: string; seq: number; state: Record<string, unknown> },
  ): Promise<SnapshotReceipt> {
    return this.transport.json({
      method: 'POST',
      path: path(runId, '/snapshots'),
      body: { json: snapshot },
      idempotent: true,
    });
  }

  /** The newest snapshot at or before a seq; null when the run has none. */
  async latestSnapshot(runId: string, atOrBeforeSeq?: number): Promise<Snapshot | null> {
    try {
      return await this.transport.json<Snapshot>({
        method: 'GET',
        path: path(runId, '/snapshots/latest'),
        query: { atOrBeforeSeq },
        idempotent: true,
      });
    } catch (error) {
      if (error instanceof ApiError && error.code === 'SG_SNAPSHOT_NOT_FOUND') return null;
      throw error;
    }
  }

  replay(runId: string, options: { afterSeq?: number; limit?: number } = {}): Promise<Replay> {
    return this.transport.json({ method: 'GET', path: path(runId, '/replay'), query: options, idempotent: true });
  }

  /** Deletes a finished run, its events, snapshots and the bytes no other run shares. */
  async deleteRun(runId: string): Promise<void> {
    await this.transport.send({ method: 'DELETE', path: path(runId), idempotent: true });
  }

  /**
   * A run's events live: the stored ones after `afterSeq`, then each as it commits, until the
   * run's terminal event. A dropped connection is resumed from the last event received.
   */
  async *watch(runId: string, options: { afterSeq?: number; signal?: AbortSignal } = {}): AsyncGenerator<RunEvent> {
    let last = options.afterSeq ?? 0;
    for (let drops = 0; ; ) {
      try {
        const response = await this.transport.send({
          method: 'GET',
          path: path(runId, '/events/stream'),
          query: { afterSeq: last },
          headers: { accept: 'text/event-stream' },
          idempotent: true,
          streaming: true,
          signal: options.signal,
        });
        if (!response.body) throw new Error('the event stream has no body');
        for await (const message of readSse(response.body)) {
          const event = parseRunEvent(JSON.parse(message.data));
          if (event.seq <= last) continue;
          last = event.seq;
          drops = 0;
          yield event;
          if (isTerminalEvent(event.type)) return;
        }
      } catch (error) {
        if (options.signal?.aborted || error instanceof ApiError) throw error;
        if (++drops > 10) throw error;
      }
      // The stream ended without a terminal event: done if the run is over, else resume.
      const run = await this.getRun(runId);
      if (isTerminal(run.status) && run.lastSeq <= last) return;
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(drops, { initialMs: 100, maxMs: 2000 })));
    }
  }

  /** Whether the service and its dependencies answer. */
  async ready(): Promise<boolean> {
    return ready(this.transport);
  }

  private lifecycle(
    runId: string,
    verb: 'claim' | 'complete' | 'fail' | 'cancel',
    body: Record<string, unknown>,
  ): Promise<Run> {
    // The state machine takes a repeat of what is already done as a retry, not an error.
    return this.transport.json({
      method: 'POST',
      path: path(runId, `/${verb}`),
      body: { json: body },
      idempotent: true,
    });
  }
}

function withIdentity(event: AgentEvent) {
  const occurredAt =
    event.occurredAt instanceof Date ? event.occurredAt.toISOString() : (event.occurredAt ?? new Date().toISOString());
  return { eventId: event.eventId ?? newUlid(), type: event.type, occurredAt, data: event.data };
}

/** GET /health/ready answers 200. */
export async function ready(transport: Transport): Promise<boolean> {
  try {
    const response = await transport.send({
      method: 'GET',
      path: '/health/ready',
      idempotent: true,
      retries: 0,
      ok: () => true,
    });
    return response.status === 200;
  } catch {
    return false;
  }
}
