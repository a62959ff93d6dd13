import { EventType, parseRunEvent, type RunEvent } from '@screengraph/shared';
import type pg from 'pg';
import { type Cursor, GraphStore, type NextCursor, type Outcome } from './graph-store.js';
import { edgeIdOf } from './ids.js';
import { type Observation, ObservationReader, Unprojectable } from './observation.js';
import { resolveAction } from './resolve-action.js';
import { type RunsClient, RunsServiceUnavailable } from './runs-client.js';

/** Which event of which run a message is, as far as it can be told even when it is invalid. */
export interface EventRef {
  runId: string;
  seq: number;
  appPackage: string | null;
  eventId: string | null;
  eventType: string | null;
}

/** projected: applied now; rejected: recorded as rejected; duplicate: at or below the run's cursor, nothing done. */
export type Delivery = 'projected' | 'rejected' | 'duplicate';

type Effect = { outcome: Omit<Outcome, keyof EventRef>; next: NextCursor };

interface Logger {
  warn(details: object, message: string): void;
}

const TERMINAL = new Set<string>([EventType.runCompleted, EventType.runFailed, EventType.runCancelled]);
const LOST: NextCursor = { currentScreen: null, pendingActionId: null, pendingScreenId: null };

/**
 * Folds run events into the graph, each exactly once in effect: one transaction per event locks
 * the run's cursor, applies the event, writes its outcome and advances the cursor. A duplicate
 * (seq ≤ cursor) changes nothing; a gap (seq > cursor + 1) is filled from the runs service first.
 * Every write is an order-independent merge (graph-store.ts), so runs may be projected in any
 * interleaving, by several instances, and a rebuild gives the same rows.
 */
export class Projector {
  private readonly observations = new ObservationReader();

  constructor(
    private readonly pool: pg.Pool,
    private readonly runs: RunsClient,
    private readonly log: Logger,
  ) {}

  /** Projects a valid event, after whatever of its run is missing before it. */
  async handle(event: RunEvent): Promise<Delivery> {
    // The hierarchy is read before the transaction: no locks are held while parsing.
    let observation: Observation | Unprojectable | undefined;
    if (event.type === EventType.screenObserved) {
      try {
        observation = this.observations.read(event.appPackage, event.data);
      } catch (error) {
        if (!(error instanceof Unprojectable)) throw error;
        observation = error;
      }
    }
    return this.projectAt(refOf(event), (store, cursor) => this.apply(store, cursor, event, observation));
  }

  /** Records an event that failed validation as rejected; the run's later events go on. */
  async reject(ref: EventRef, reason: string): Promise<Delivery> {
    this.log.warn({ runId: ref.runId, seq: ref.seq, reason }, 'event rejected by the projection');
    return this.projectAt(ref, async () => ({ outcome: { outcome: 'rejected', detail: reason }, next: LOST }));
  }

  /** Validates an envelope from the runs service or the stream, then projects or rejects it. */
  async handleEnvelope(value: unknown, ref: EventRef): Promise<Delivery> {
    let event: RunEvent;
    try {
      event = parseRunEvent(value);
    } catch (error) {
      return this.reject(ref, (error as Error).message);
    }
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
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      if (appPackage === undefined) {
        await client.query('TRUNCATE screens, actions, edges, graph_projection_cursors, graph_persistence_outcomes');
      } else {
        await client.query('DELETE FROM graph_persistence_outcomes WHERE app_package = $1', [appPackage]);
        await client.query('DELETE FROM graph_projection_cursors WHERE app_package = $1', [appPackage]);
        await client.query('DELETE FROM screens WHERE app_package = $1', [appPackage]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private async cursorSeq(runId: string): Promise<number> {
    const { rows } = await this.pool.query('SELECT last_seq FROM graph_projection_cursors WHERE run_id = $1', [runId]);
    return rows[0]?.last_seq ?? 0;
  }

  /** The one transaction per event; fills a gap before it, then tries again. */
  private async projectAt(
    ref: EventRef,
    effect: (store: GraphStore, cursor: Cursor) => Promise<Effect>,
  ): Promise<Delivery> {
    for (;;) {
      const result = await this.transaction(ref, effect);
      if (result !== 'gap') return result;
      await this.catchUp(ref.runId, ref.seq - 1);
    }
  }

  private async transaction(
    ref: EventRef,
    effect: (store: GraphStore, cursor: Cursor) => Promise<Effect>,
  ): Promise<Delivery | 'gap'> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const store = new GraphStore(client);
      // A rejected message may not name its app; its run's cursor then already exists or gets ''.
      const cursor = await store.lockCursor(ref.runId, ref.appPackage ?? '');
      if (ref.seq <= cursor.lastSeq || ref.seq > cursor.lastSeq + 1) {
        await client.query('ROLLBACK');
        return ref.seq <= cursor.lastSeq ? 'duplicate' : 'gap';
      }
      const { outcome, next } = await effect(store, cursor);
      await store.advance({ ...ref, ...outcome }, next);
      await client.query('COMMIT');
      return outcome.outcome === 'rejected' ? 'rejected' : 'projected';
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

  private async apply(
    store: GraphStore,
    cursor: Cursor,
    event: RunEvent,
    observation: Observation | Unprojectable | undefined,
  ): Promise<Effect> {
    const source = { appPackage: event.appPackage, runId: event.runId, seq: event.seq, recordedAt: event.recordedAt };
    switch (event.type) {
      case EventType.screenObserved: {
        if (!observation || observation instanceof Unprojectable) {
          return { outcome: { outcome: 'rejected', detail: observation?.message ?? null }, next: LOST };
        }
        const added = await store.upsertScreen(observation, source);
        await store.upsertActions(observation.screenId, observation.actions, 'discovered', source);
        let edgeId: string | null = null;
        if (cursor.pendingActionId !== null && cursor.pendingScreenId !== null) {
          edgeId = edgeIdOf(cursor.pendingActionId, observation.screenId);
          await store.upsertEdge(edgeId, cursor.pendingScreenId, cursor.pendingActionId, observation.screenId, source);
        }
        const { screenId, width, height, actions } = observation;
        return {
          outcome: { outcome: added ? 'screen_added' : 'screen_matched', screenId, edgeId },
          next: { currentScreen: { screenId, width, height, actions }, pendingActionId: null, pendingScreenId: null },
        };
      }
      case EventType.actionPerformed: {
        const screen = cursor.currentScreen;
        if (screen === null) {
          const detail = 'no screen observed since the run started or since its last action';
          return { outcome: { outcome: 'no_effect', detail }, next: LOST };
        }
        const { action, matchedBy } = resolveAction(screen, event.data);
        if (matchedBy === null) await store.upsertActions(screen.screenId, [action], 'performed', source);
        return {
          outcome: {
            outcome: matchedBy === null ? 'action_added' : 'action_matched',
            screenId: screen.screenId,
            actionId: action.actionId,
            detail: matchedBy === null ? 'matched no action of the screen' : `matched by ${matchedBy}`,
          },
          // Where the action led is unknown until the next observation.
          next: { currentScreen: null, pendingActionId: action.actionId, pendingScreenId: screen.screenId },
        };
      }
      default: {
        const next = TERMINAL.has(event.type)
          ? LOST
          : { pendingActionId: cursor.pendingActionId, pendingScreenId: cursor.pendingScreenId };
        return { outcome: { outcome: 'no_effect', detail: 'run lifecycle' }, next };
      }
    }
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
