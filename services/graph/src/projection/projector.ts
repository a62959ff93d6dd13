import { EventType, parseRunEvent, type RunEvent } from '@screengraph/shared';
import { withTransaction } from '@screengraph/shared/postgres';
import type pg from 'pg';
import { type EventRef, GRAPH_CHANGED_CHANNEL, GraphStore, type StoredCursor } from './graph-store.js';
import { KnownActions } from './known-actions.js';
import { type ArtifactBytes, type Observation, ObservationReader, Unprojectable } from './observation.js';
import { type CursorState, type Plan, planEvent, planRejection } from './plan.js';
import { NotInEventLog, type RunsClient, RunsServiceUnavailable } from './runs-client.js';

export type { EventRef } from './graph-store.js';

/** projected: applied now; rejected: recorded as rejected; duplicate: at or below the run's cursor, nothing done. */
export type Delivery = 'projected' | 'rejected' | 'duplicate';

interface Logger {
  warn(details: object, message: string): void;
}

/** What the metrics learn of each projected event. */
export interface ProjectedEvent {
  outcome: string;
  /** Whether it added a screen, an action or an edge to the app's graph (cached models are stale). */
  graphChanged: boolean;
  appPackage: string | null;
  /** When the runs service committed the event; null for a message that was not an event. */
  recordedAt: string | null;
}

/** A run's cursor as this process left it: the state to plan from, and which making of the row it is. */
type KnownCursor = CursorState & Pick<StoredCursor, 'incarnation'>;

/** Cursors kept in memory, so the common case (the next event of a run this process projects) is one statement. */
const CACHED_CURSORS = 10_000;

/**
 * Folds run events into the graph, each exactly once in effect. Each event is one transaction:
 * the run's cursor moves from seq - 1 to seq, the event's rows merge, its outcome is written. A
 * duplicate (seq ≤ cursor) changes nothing; a gap (seq > cursor + 1) is filled from the runs
 * service first. Every write is an order-independent merge (graph-store.ts), so runs may be
 * projected in any interleaving, by several instances, and a rebuild gives the same rows.
 *
 * The run's cursor state is remembered after each event: the next event is then planned without
 * reading it and written by a single statement guarded by that state and the cursor row's
 * incarnation. When the guard fails (another instance moved the cursor, a rebuild dropped it or
 * made it again) the event takes the careful path: lock the cursor, read it, plan, write, in one
 * explicit transaction. The stored cursor names the run's current screen by the seq of its
 * observation; the careful path reads that observation again from the event log when the event
 * needs the screen's actions. A screen's actions already stored by an earlier event are left out
 * of its later observations' writes (KnownActions).
 */
export class Projector {
  private readonly observations: ObservationReader;
  private readonly cursors = new Map<string, KnownCursor>();
  private readonly known = new KnownActions();
  private readonly store: GraphStore;

  constructor(
    private readonly pool: pg.Pool,
    private readonly runs: RunsClient,
    private readonly log: Logger,
    artifacts?: ArtifactBytes,
    private readonly observe?: (projected: ProjectedEvent) => void,
  ) {
    this.store = new GraphStore(pool);
    this.observations = new ObservationReader(artifacts);
  }

  /** Projects a valid event, after whatever of its run is missing before it. */
  async handle(event: RunEvent): Promise<Delivery> {
    // The hierarchy is read before anything is locked.
    let observation: Observation | Unprojectable | undefined;
    if (event.type === EventType.screenObserved) {
      try {
        observation = await this.observations.read(event.appPackage, event.data);
      } catch (error) {
        if (!(error instanceof Unprojectable)) throw error;
        observation = error;
      }
    }
    return this.project(refOf(event), event.recordedAt, (cursor) => planEvent(cursor, event, observation), true);
  }

  /** Records an event that failed validation as rejected; the run's later events go on. */
  async reject(ref: EventRef, reason: string, log: Logger = this.log): Promise<Delivery> {
    log.warn({ runId: ref.runId, seq: ref.seq, reason }, 'event rejected by the projection');
    // A rejection needs nothing of the cursor: it never reads the run's current screen again.
    return this.project(ref, null, () => planRejection(ref.seq, reason), false);
  }

  /**
   * Validates an envelope from the stream, then projects it; `log` carries what identifies the
   * delivery (the appending request's id). An invalid one is replaced by the event log's copy.
   */
  async handleEnvelope(value: unknown, ref: EventRef, log: Logger = this.log): Promise<Delivery> {
    let event: RunEvent;
    try {
      event = parseRunEvent(value);
    } catch (error) {
      return this.handleUnusable(ref, (error as Error).message, log);
    }
    return this.handle(event);
  }

  /**
   * A message naming a run and seq that is not a usable event (not JSON, or not valid): the runs
   * service's event log is the truth, so its copy of that seq is projected instead, and the graph
   * stays what a rebuild gives. Only when that copy is invalid too is the seq recorded as
   * rejected. Throws NotInEventLog when the log has no such event: nothing is recorded for it.
   */
  async handleUnusable(ref: EventRef, reason: string, log: Logger = this.log): Promise<Delivery> {
    const cached = this.cursors.get(ref.runId);
    if (cached && ref.seq <= cached.lastSeq) return 'duplicate';
    const [value] = (await this.runs.events(ref.runId, ref.seq - 1, 1)).events;
    const copy = refOfUnknown(value);
    if (copy === null || copy.runId !== ref.runId || copy.seq !== ref.seq) {
      throw new NotInEventLog(`run ${ref.runId} has no event ${ref.seq} in the runs service's event log`);
    }
    let event: RunEvent;
    try {
      event = parseRunEvent(value);
    } catch (error) {
      return this.reject(copy, `${reason}; the event log's copy too: ${(error as Error).message}`, log);
    }
    log.warn({ runId: ref.runId, seq: ref.seq, reason }, 'unusable message; the event log’s copy is projected');
    return this.handle(event);
  }

  /**
   * Projects a run's events from its cursor on, read from the runs service: up to `untilSeq`, or
   * to the run's head. Returns how many events this call projected.
   */
  async catchUp(runId: string, untilSeq = Number.POSITIVE_INFINITY): Promise<number> {
    let after = await this.cursorSeq(runId);
    let projected = 0;
    while (after < untilSeq) {
      const page = await this.runs.events(runId, after, Math.min(1000, untilSeq - after));
      if (page.events.length === 0) {
        if (untilSeq === Number.POSITIVE_INFINITY) break;
        // A message beyond the run's head (forged, or of a run deleted and made again) never fits.
        const run = await this.runs.run(runId);
        if (run === null || run.lastSeq < untilSeq) {
          throw new NotInEventLog(`run ${runId} has no event ${untilSeq} in the runs service's event log`);
        }
        throw new RunsServiceUnavailable(`the runs service has no events of run ${runId} after seq ${after}`);
      }
      for (const value of page.events) {
        const ref = refOfUnknown(value);
        if (!ref || ref.runId !== runId || ref.seq !== after + 1) {
          throw new RunsServiceUnavailable(`the runs service sent an unexpected event for run ${runId} after ${after}`);
        }
        if ((await this.handleEnvelope(value, ref)) !== 'duplicate') projected++;
        after = ref.seq;
        if (after >= untilSeq) break;
      }
      if (page.nextAfterSeq === null && untilSeq === Number.POSITIVE_INFINITY) break;
    }
    return projected;
  }

  /** Drops an app's graph, its runs' cursors and outcomes; or everything, without an app. */
  async drop(appPackage?: string): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      if (appPackage === undefined) {
        await client.query('TRUNCATE screens, actions, edges, graph_projection_cursors, graph_persistence_outcomes');
      } else {
        await client.query('DELETE FROM graph_persistence_outcomes WHERE app_package = $1', [appPackage]);
        await client.query('DELETE FROM graph_projection_cursors WHERE app_package = $1', [appPackage]);
        await client.query('DELETE FROM screens WHERE app_package = $1', [appPackage]);
      }
      // Every instance's cached graph of the app (of every app: '*') is stale from the commit on.
      await client.query('SELECT pg_notify($1, $2)', [GRAPH_CHANGED_CHANNEL, appPackage ?? '*']);
    });
    this.cursors.clear();
    this.known.forget();
  }

  private async cursorSeq(runId: string): Promise<number> {
    const { rows } = await this.pool.query('SELECT last_seq FROM graph_projection_cursors WHERE run_id = $1', [runId]);
    return rows[0]?.last_seq ?? 0;
  }

  /** Projects one event: the one-statement path when its run's cursor is known, else the careful one. */
  private async project(
    ref: EventRef,
    recordedAt: string | null,
    plan: (cursor: CursorState) => Plan,
    needsScreen: boolean,
  ): Promise<Delivery> {
    const cached = this.cursors.get(ref.runId);
    if (cached && cached.lastSeq === ref.seq - 1) {
      const planned = plan(cached);
      const merging = planned.observation ? this.known.toMerge(planned.observation.actions, ref) : undefined;
      const written = await this.store.write(ref, recordedAt, planned, cached, merging);
      if (written !== null) return this.projected(ref, recordedAt, planned, cached.incarnation, written);
    }
    this.cursors.delete(ref.runId);
    // The cursor is not where this process left it (another instance moved it; a rebuild dropped
    // and made it again), or this process never saw it: the app's graph may have been dropped
    // since, with actions known here.
    this.known.forget();
    for (;;) {
      const result = await this.carefully(ref, recordedAt, plan, needsScreen);
      if (result !== 'gap') return result;
      await this.catchUp(ref.runId, ref.seq - 1);
    }
  }

  private async carefully(
    ref: EventRef,
    recordedAt: string | null,
    plan: (cursor: CursorState) => Plan,
    needsScreen: boolean,
  ): Promise<Delivery | 'gap'> {
    const result = await withTransaction(this.pool, async (client) => {
      const store = new GraphStore(client);
      // A rejected message may not name its app; its run's cursor then already exists or gets ''.
      const stored = await store.lockCursor(ref.runId, ref.appPackage ?? '');
      if (ref.seq > stored.lastSeq + 1) return { kind: 'gap' } as const;
      if (ref.seq <= stored.lastSeq) return { kind: 'duplicate' } as const;
      const cursor = needsScreen ? await this.restore(ref.runId, stored) : { ...stored, currentScreen: null };
      const planned = plan(cursor);
      const written = await store.write(ref, recordedAt, planned, stored);
      if (written === null) throw new Error(`the cursor of run ${ref.runId} moved while locked`);
      return { kind: 'projected', planned, incarnation: stored.incarnation, written } as const;
    });
    switch (result.kind) {
      case 'gap':
        return 'gap';
      case 'duplicate':
        return 'duplicate';
      default:
        return this.projected(ref, recordedAt, result.planned, result.incarnation, result.written);
    }
  }

  /**
   * The cursor with the run's current screen as its observation saw it, read again from the
   * event log (reading an observation is deterministic: the same screen, the same actions).
   */
  private async restore(runId: string, stored: StoredCursor): Promise<CursorState> {
    if (stored.currentScreen === null) return { ...stored, currentScreen: null };
    const { screenId, seq } = stored.currentScreen;
    const [value] = (await this.runs.events(runId, seq - 1, 1)).events;
    const copy = refOfUnknown(value);
    if (copy === null || copy.runId !== runId || copy.seq !== seq) {
      throw new NotInEventLog(`run ${runId} has no event ${seq} (its current screen) in the runs service's event log`);
    }
    const event = parseRunEvent(value);
    const observation =
      event.type === EventType.screenObserved ? await this.observations.read(event.appPackage, event.data) : null;
    if (observation?.screenId !== screenId) {
      throw new Error(`event ${seq} of run ${runId} is not the observation of its current screen ${screenId}`);
    }
    const { width, height, actions } = observation;
    return { ...stored, currentScreen: { screenId, seq, width, height, actions } };
  }

  private projected(
    ref: EventRef,
    recordedAt: string | null,
    planned: Plan,
    incarnation: string,
    { outcome, added }: { outcome: string; added: boolean },
  ): Delivery {
    if (planned.observation) this.known.merged(planned.observation.actions, ref);
    this.observe?.({ outcome, graphChanged: added, appPackage: ref.appPackage, recordedAt });
    return this.remember(ref.runId, { ...planned.next, incarnation }, outcome);
  }

  private remember(runId: string, cursor: KnownCursor, outcome: string | null): Delivery {
    this.cursors.delete(runId);
    this.cursors.set(runId, cursor);
    if (this.cursors.size > CACHED_CURSORS) this.cursors.delete(this.cursors.keys().next().value as string);
    return outcome === 'rejected' ? 'rejected' : 'projected';
  }
}

function refOf(event: RunEvent): EventRef {
  return {
    runId: event.runId,
    seq: event.seq,
    appPackage: event.appPackage,
    eventId: event.eventId,
    eventType: event.type,
  };
}

const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** The run and seq of something that claims to be an event, or null when it does not say. */
export function refOfUnknown(value: unknown): EventRef | null {
  if (typeof value !== 'object' || value === null) return null;
  const { runId, seq, appPackage, eventId, type } = value as Record<string, unknown>;
  if (typeof runId !== 'string' || !ULID.test(runId) || !Number.isSafeInteger(seq) || (seq as number) < 1) return null;
  return {
    runId,
    seq: seq as number,
    appPackage: typeof appPackage === 'string' && appPackage.length <= 255 ? appPackage : null,
    eventId: typeof eventId === 'string' && ULID.test(eventId) ? eventId : null,
    eventType: typeof type === 'string' ? type.slice(0, 100) : null,
  };
}
