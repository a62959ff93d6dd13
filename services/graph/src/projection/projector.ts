import {
  EventType,
  isTerminalEvent,
  isUlid,
  PersistenceOutcome,
  parseRunEvent,
  type RunEvent,
} from '@screengraph/shared';
import { batchRows, type CursorGuard, type RunPart } from './core/batch-rows.js';
import { type CursorState, type EventRef, type ProjectionInput, planRun } from './core/plan.js';
import { GRAPH_CHANGED_CHANNEL } from './graph-changes.js';
import { type ArtifactBytes, ObservationReader, Unprojectable } from './inputs/observation.js';
import { NotInEventLog, type RunsClient, RunsServiceUnavailable } from './inputs/runs-client.js';
import { CursorCache } from './store/cursor-cache.js';
import type { GraphDb } from './store/graph-db.js';
import { type BatchWritten, CursorMoved, GraphStore, type StoredCursor } from './store/graph-store.js';
import { KnownActions } from './store/known-actions.js';
import { dropApp } from './store/statements.js';
import { isTransient } from './transient.js';

export type { EventRef } from './core/plan.js';

/**
 * What the consumer hands the projector for one message: an envelope to validate, a message that
 * names its run and seq but is not a usable event (the event log's copy is projected instead),
 * or one already known to be rejected (with the reason).
 */
export type Delivery =
  | { kind: 'envelope'; ref: EventRef; value: unknown }
  | { kind: 'unusable'; ref: EventRef; reason: string }
  | { kind: 'rejected'; ref: EventRef; reason: string };

/**
 * What became of a delivery: `projected` (written now), `rejected` (recorded as rejected),
 * `duplicate` (at or below its run's cursor: nothing done), `not-in-log` (its run's event log has
 * no such seq: nothing can be recorded for it), `later` (held back while the runs service or the
 * artifact store is away, with the run's events after it: to be handed over again).
 */
export type Handled = 'projected' | 'rejected' | 'duplicate' | 'not-in-log' | 'later';

interface Logger {
  warn(details: object, message: string): void;
}

/** What a committed batch did, for metrics and the graph's change announcements. */
export interface BatchProjected {
  events: { outcome: PersistenceOutcome; appPackage: string | null; recordedAt: string | null }[];
  /** Apps whose graph got a new screen, action or edge: cached models of them are stale. */
  changedApps: string[];
}

export interface ProjectorOptions {
  log: Logger;
  /** The runs service's artifact bytes: hierarchies and screenshots sent as artifacts. */
  artifacts?: ArtifactBytes;
  /** Told of every committed batch. */
  onProjected?: (projected: BatchProjected) => void;
  /** Told of a run's part of a batch that went the careful way (its cursor had moved elsewhere), with its events. */
  onCareful?: (events: number) => void;
}

/** Events of a run one batch takes at most (catch-up and rebuild project their pages this many at a time). */
export const BATCH_EVENTS = 200;

/** Where a run's projection stands before its part of a batch is planned. */
interface RunState {
  /** No cursor row yet: the batch makes it. */
  fresh: boolean;
  incarnation: string | null;
  cursor: CursorState;
  /** The stored cursor's current screen, when only its id and observation seq are known, not its actions. */
  unresolved: { screenId: string; seq: number } | null;
}

const FRESH: RunState = {
  fresh: true,
  incarnation: null,
  cursor: { lastSeq: 0, currentScreen: null, pendingActionId: null, pendingScreenId: null },
  unresolved: null,
};

/** A delivery once its envelope is checked: a valid event, a message to replace by the log's copy, or a rejection. */
type Checked =
  | { kind: 'event'; ref: EventRef; event: RunEvent }
  | { kind: 'unusable'; ref: EventRef; reason: string }
  | { kind: 'rejected'; ref: EventRef; reason: string };

/** One run's deliveries in a batch, by seq; `indices` are their places in the batch, to answer each. */
interface RunDeliveries {
  runId: string;
  appPackage: string;
  bySeq: Map<number, { delivery: Checked; indices: number[] }>;
}

/** A run's part of a batch, planned; with what it was planned from, to plan it again event by event. */
interface Prepared {
  run: RunDeliveries;
  state: RunState;
  /** The state's cursor with its current screen read again when the events needed it. */
  cursor: CursorState;
  inputs: ProjectionInput[];
  part: RunPart;
}

/**
 * Folds run events into the graph, each exactly once in effect, several runs' events per
 * transaction. For a batch of deliveries: each run's cursor state is taken from memory (or read
 * from the store, for a run this process does not know), duplicates are dropped, gaps and
 * unusable messages are filled from the runs service's event log, each run's events are planned
 * in order by the pure `planRun`, the rows of the whole batch are merged in memory (`batchRows`)
 * and written by one statement that moves every run's cursor by a compare-and-set. A run whose
 * cursor was elsewhere (another instance, a rebuild, a cursor made again) goes the careful way:
 * its cursor locked and read, its part planned again from it and written alone; the others'
 * parts commit. A write the store refuses (a value it cannot take) is split until the refused
 * event is found, which is rejected with the store's reason; its run's later events go on. Every
 * merge is order independent, so runs can be projected in any interleaving, by several
 * instances, and a rebuild gives the same rows.
 */
export class Projector {
  private readonly observations: ObservationReader;
  private readonly cursors = new CursorCache();
  private readonly known = new KnownActions();
  private readonly store: GraphStore;

  constructor(
    private readonly db: GraphDb,
    private readonly runs: RunsClient,
    private readonly options: ProjectorOptions,
  ) {
    this.store = new GraphStore(db);
    this.observations = new ObservationReader(options.artifacts);
  }

  /** Projects a batch of deliveries (any runs, any order); what became of each, in their order. */
  async project(deliveries: Delivery[]): Promise<Handled[]> {
    const results: Handled[] = deliveries.map(() => 'duplicate');
    const runs = groupByRun(deliveries);
    const states = await this.statesOf([...runs.values()]);
    const prepared = await Promise.all(
      [...runs.values()].map((run) => this.prepare(run, states.get(run.runId) ?? FRESH, results)),
    );
    await this.write(
      prepared.filter((part) => part !== null),
      results,
    );
    return results;
  }

  /**
   * Projects a run's events from its cursor on, read from the runs service's event log in pages
   * and projected in batches, to the run's head. `pages` reads them (default: from the runs
   * service, page by page). Returns how many events it projected.
   */
  async catchUp(
    runId: string,
    pages: (after: number) => AsyncIterable<unknown[]> = (after) => this.pagesOf(runId, after),
  ): Promise<number> {
    // The stored cursor, not this process's memory of it: a rebuild elsewhere may have dropped it.
    let after = await this.store.cursorSeq(runId);
    let projected = 0;
    for await (const page of pages(after)) {
      const deliveries: Delivery[] = [];
      for (const value of page) {
        const ref = refOfUnknown(value);
        if (!ref || ref.runId !== runId || ref.seq !== after + deliveries.length + 1) {
          throw new RunsServiceUnavailable(`the runs service sent an unexpected event for run ${runId} after ${after}`);
        }
        deliveries.push({ kind: 'envelope', ref, value });
      }
      for (let start = 0; start < deliveries.length; start += BATCH_EVENTS) {
        const handled = await this.project(deliveries.slice(start, start + BATCH_EVENTS));
        projected += handled.filter((result) => result === 'projected' || result === 'rejected').length;
      }
      after += deliveries.length;
    }
    return projected;
  }

  /** A run's events after `after` from the runs service, a page at a time, to its head. */
  async *pagesOf(runId: string, after: number): AsyncGenerator<unknown[]> {
    for (let from = after; ; ) {
      const page = await this.runs.events(runId, from, 1000);
      if (page.events.length === 0) return;
      yield page.events;
      from += page.events.length;
      if (page.nextAfterSeq === null) return;
    }
  }

  /** Drops an app's graph, its runs' cursors and outcomes; or everything, without an app. */
  async drop(appPackage?: string): Promise<void> {
    await this.db.transaction(async (db) => {
      for (const statement of dropApp(appPackage)) await db.query(statement);
      // Every instance's cached graph of the app (of every app: '*') is stale from the commit on.
      await db.query({ text: 'SELECT pg_notify($1, $2)', values: [GRAPH_CHANGED_CHANNEL, appPackage ?? '*'] });
    });
    this.cursors.clear();
    this.known.forget();
  }

  /**
   * Each run's state: from memory when its deliveries all follow the cursor this process left
   * (the write's compare-and-set checks it); else from its stored cursor (one read for all of
   * them), else fresh. A delivery at or below the remembered cursor is a duplicate only if the
   * store says so: a rebuild elsewhere may have dropped the cursor, and the event is due again.
   */
  private async statesOf(runs: RunDeliveries[]): Promise<Map<string, RunState>> {
    const states = new Map<string, RunState>();
    const unknown: string[] = [];
    for (const { runId, bySeq } of runs) {
      const known = this.cursors.get(runId);
      if (known && Math.min(...bySeq.keys()) > known.lastSeq) {
        const { incarnation, ...cursor } = known;
        states.set(runId, { fresh: false, incarnation, cursor, unresolved: null });
      } else {
        unknown.push(runId);
      }
    }
    const stored = await this.store.cursors(unknown);
    for (const runId of unknown) {
      const cursor = stored.get(runId);
      states.set(runId, cursor ? stateOfStored(cursor) : FRESH);
    }
    return states;
  }

  /**
   * A run's part of the batch, from `state`: duplicates dropped, the seqs it lacks read from the
   * event log, its observations read, its events planned. Null when nothing is left to write.
   * Marks in `results` the deliveries it will not write.
   */
  private async prepare(run: RunDeliveries, state: RunState, results: Handled[]): Promise<Prepared | null> {
    const last = Math.max(...run.bySeq.keys());
    if (last <= state.cursor.lastSeq) return null;
    let inputs = await this.inputsOf(run, state.cursor.lastSeq, last, results);
    // Read before anything is locked or written: hierarchies, screenshots, the current screen.
    const unread = await Promise.all(inputs.map((input) => this.readObservation(input).then(() => false, held)));
    const firstUnread = unread.indexOf(true);
    if (firstUnread >= 0) {
      // An artifact store away: what comes before that observation goes on, the rest waits.
      holdBack(run, inputs[firstUnread]?.ref.seq ?? 0, results);
      inputs = inputs.slice(0, firstUnread);
    }
    if (inputs.length === 0) return null;
    let cursor = state.cursor;
    if (state.unresolved && needsScreen(inputs)) {
      const restored = await this.restore(run.runId, state).catch(held);
      if (restored === true) {
        holdBack(run, 0, results);
        return null;
      }
      cursor = restored;
    }
    return { run, state, cursor, inputs, part: this.part(run, state, cursor, inputs) };
  }

  /** The planned part of a run: its inputs folded from `cursor`, guarded by `state`. */
  private part(run: RunDeliveries, state: RunState, cursor: CursorState, inputs: ProjectionInput[]): RunPart {
    const guard: CursorGuard = {
      fresh: state.fresh,
      lastSeq: state.cursor.lastSeq,
      currentScreenId: state.cursor.currentScreen?.screenId ?? state.unresolved?.screenId ?? null,
      pendingActionId: state.cursor.pendingActionId,
      incarnation: state.incarnation,
    };
    return { runId: run.runId, appPackage: run.appPackage, guard, ...planRun(cursor, inputs) };
  }

  private async readObservation(input: ProjectionInput): Promise<void> {
    if (input.kind !== 'event' || input.event.type !== EventType.screenObserved) return;
    input.observation = await this.observations.read(input.event.appPackage, input.event.data).catch((error) => {
      if (error instanceof Unprojectable) return error;
      throw error;
    });
  }

  /**
   * The run's inputs for the seqs after `after` to `last`, in order: its deliveries, and for the
   * seqs it lacks (a gap) or has only unusable messages of, the event log's copies (the runs
   * service is the source of truth: the graph stays what a rebuild gives). Deliveries beyond the
   * log's head are `not-in-log`.
   */
  private async inputsOf(
    run: RunDeliveries,
    after: number,
    upTo: number,
    results: Handled[],
  ): Promise<ProjectionInput[]> {
    let last = upTo;
    const lacks = (seq: number) => {
      const at = run.bySeq.get(seq);
      return at === undefined || at.delivery.kind === 'unusable';
    };
    let firstLacking = after + 1;
    while (firstLacking <= last && !lacks(firstLacking)) firstLacking++;
    const copies = firstLacking <= last ? await this.readLog(run.runId, firstLacking - 1, last).catch(held) : new Map();
    if (copies === true) {
      // The runs service away: the events before the gap go on, the rest waits for it.
      holdBack(run, firstLacking, results);
      last = firstLacking - 1;
    }
    const inputs: ProjectionInput[] = [];
    for (let seq = after + 1; seq <= last; seq++) {
      const at = run.bySeq.get(seq);
      if (at && at.delivery.kind !== 'unusable') {
        inputs.push(at.delivery);
        continue;
      }
      const copy = copies === true ? undefined : copies.get(seq);
      if (copy === undefined) {
        // The log ends before this seq: it and every later seq of the batch name no event of it.
        for (const [later, { indices }] of run.bySeq)
          if (later >= seq) for (const i of indices) results[i] = 'not-in-log';
        this.options.log.warn({ runId: run.runId, seq }, 'messages name seqs the event log does not have; dropped');
        break;
      }
      inputs.push(this.copyInput(copy.ref, copy.value, at?.delivery.kind === 'unusable' ? at.delivery.reason : null));
    }
    return inputs;
  }

  /** The event log's copy of an event, as an input; `reason` why the message itself was not usable. */
  private copyInput(ref: EventRef, value: unknown, reason: string | null): ProjectionInput {
    try {
      const event = parseRunEvent(value);
      if (reason !== null) {
        this.options.log.warn(
          { runId: ref.runId, seq: ref.seq, reason },
          'unusable message; the event log’s copy is projected',
        );
      }
      return { kind: 'event', ref, event };
    } catch (error) {
      const why = `${reason === null ? '' : `${reason}; the event log's copy too: `}${(error as Error).message}`;
      this.options.log.warn({ runId: ref.runId, seq: ref.seq, reason: why }, 'event rejected by the projection');
      return { kind: 'rejected', ref, reason: why };
    }
  }

  /** A run's events after `after` up to `last` from the runs service, by seq. */
  private async readLog(
    runId: string,
    after: number,
    last: number,
  ): Promise<Map<number, { ref: EventRef; value: unknown }>> {
    const copies = new Map<number, { ref: EventRef; value: unknown }>();
    for (let from = after; from < last; ) {
      const page = await this.runs.events(runId, from, Math.min(1000, last - from));
      for (const value of page.events) {
        const ref = refOfUnknown(value);
        if (ref?.runId === runId && ref.seq > from) copies.set(ref.seq, { ref, value });
      }
      if (page.events.length === 0) break;
      from += page.events.length;
    }
    return copies;
  }

  /**
   * Writes the prepared parts by one statement. Parts whose cursor moved meanwhile go the careful
   * way and the rest is written again; a statement the store refuses is split.
   */
  private async write(prepared: Prepared[], results: Handled[]): Promise<void> {
    let pending = prepared;
    for (let attempt = 0; pending.length > 0; attempt++) {
      try {
        await this.commit(this.store, pending, results);
        return;
      } catch (error) {
        if (error instanceof CursorMoved) {
          const moved = await this.movedRuns(pending);
          // Where a cursor moved, a rebuild may have dropped rows this process knows are stored.
          this.known.forget();
          for (const run of moved) await this.carefully(run, results);
          pending = pending.filter((run) => !moved.includes(run));
        } else if (isForeignKeyViolation(error) && attempt === 0) {
          // An action this process knew is gone (its app was dropped elsewhere): merge them all.
          this.known.forget();
        } else if (isTransient(error)) {
          throw error;
        } else {
          await this.split(pending, results);
          return;
        }
      }
    }
  }

  /** Writes parts by one statement and, once committed, remembers where their cursors are and what they stored. */
  private async commit(store: GraphStore, prepared: Prepared[], results: Handled[]): Promise<void> {
    this.remember(prepared, await this.writeParts(store, prepared), results);
  }

  private writeParts(store: GraphStore, prepared: Prepared[]): Promise<BatchWritten> {
    const parts = prepared.map(({ part }) => part);
    return store.write(batchRows(parts, (actions, at) => this.known.toMerge(actions, at)));
  }

  /** After a commit: each run's cursor as it is now, the actions it stored, what became of each delivery; told to whoever listens. */
  private remember(prepared: Prepared[], written: BatchWritten, results: Handled[]): void {
    for (const { run, part } of prepared) {
      const incarnation = written.incarnations.get(part.runId);
      if (incarnation === undefined) throw new Error(`run ${part.runId}: the batch wrote no cursor`);
      this.cursors.set(part.runId, { ...part.next, incarnation });
      for (const { ref, plan } of part.events) {
        if (plan.observation) this.known.merged(plan.observation.actions, ref);
        const handled = plan.outcome === PersistenceOutcome.rejected ? 'rejected' : 'projected';
        for (const index of run.bySeq.get(ref.seq)?.indices ?? []) results[index] = handled;
      }
    }
    this.options.onProjected?.({
      events: prepared.flatMap(({ part }) =>
        part.events.map(({ ref, recordedAt, plan }) => ({
          outcome: plan.outcome,
          appPackage: ref.appPackage,
          recordedAt,
        })),
      ),
      changedApps: written.changedApps,
    });
  }

  /** The parts whose cursor the store has elsewhere than where they were planned from. */
  private async movedRuns(prepared: Prepared[]): Promise<Prepared[]> {
    const stored = await this.store.cursors(prepared.map(({ part }) => part.runId));
    return prepared.filter(({ part: { runId, guard } }) => {
      const cursor = stored.get(runId);
      if (cursor === undefined || guard.fresh) return true;
      return (
        cursor.lastSeq !== guard.lastSeq ||
        cursor.incarnation !== guard.incarnation ||
        (cursor.currentScreen?.screenId ?? null) !== guard.currentScreenId ||
        cursor.pendingActionId !== guard.pendingActionId
      );
    });
  }

  /** The careful way for one run: its cursor locked and read, its part planned again from it, written alone. */
  private async carefully(moved: Prepared, results: Handled[]): Promise<void> {
    this.options.onCareful?.(moved.run.bySeq.size);
    this.cursors.delete(moved.run.runId);
    const done = await this.db.transaction(async (db) => {
      const store = new GraphStore(db);
      const stored = await store.lockCursor(moved.run.runId, moved.run.appPackage);
      const again = await this.prepare(moved.run, stateOfStored(stored), results);
      return again && { again, written: await this.writeParts(store, [again]) };
    });
    if (done) this.remember([done.again], done.written, results);
  }

  /**
   * A statement the store refused, split: each run alone, then each of the run's events alone. An
   * event refused alone is rejected with the store's reason, and its run goes on from there.
   */
  private async split(prepared: Prepared[], results: Handled[]): Promise<void> {
    if (prepared.length > 1) {
      for (const run of prepared) await this.write([run], results);
      return;
    }
    const [run] = prepared;
    if (!run) return;
    let state = run.state;
    let cursor = run.cursor;
    for (const input of run.inputs) {
      const alone = (one: ProjectionInput): Prepared => ({
        ...run,
        state,
        cursor,
        inputs: [one],
        part: this.part(run.run, state, cursor, [one]),
      });
      try {
        await this.commit(this.store, [alone(input)], results);
      } catch (refused) {
        if (isTransient(refused) || refused instanceof CursorMoved) throw refused;
        const reason = `projection failed: ${(refused as Error).message}`;
        this.options.log.warn(
          { err: refused, runId: run.run.runId, seq: input.ref.seq },
          'projection failed; rejected',
        );
        await this.commit(this.store, [alone({ kind: 'rejected', ref: input.ref, reason })], results);
      }
      const known = this.cursors.get(run.run.runId);
      if (!known) throw new Error(`run ${run.run.runId}: no cursor after its write`);
      const { incarnation, ...next } = known;
      state = { fresh: false, incarnation, cursor: next, unresolved: null };
      cursor = next;
    }
  }

  /**
   * The cursor with the run's current screen as its observation saw it, read again from the
   * event log (reading an observation is deterministic: the same screen, the same actions).
   */
  private async restore(runId: string, state: RunState): Promise<CursorState> {
    if (!state.unresolved) return state.cursor;
    const { screenId, seq } = state.unresolved;
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
    return { ...state.cursor, currentScreen: { screenId, seq, width, height, actions } };
  }
}

/** `true` for an error to wait out (the deliveries it concerns are held back); anything else is thrown on. */
function held(error: unknown): true {
  if (isTransient(error)) return true;
  throw error;
}

/** Marks a run's deliveries from `seq` on as held back: a dependency is away; they are tried again later. */
function holdBack(run: RunDeliveries, seq: number, results: Handled[]): void {
  for (const [at, { indices }] of run.bySeq) if (at >= seq) for (const i of indices) results[i] = 'later';
}

function stateOfStored(stored: StoredCursor): RunState {
  const { incarnation, currentScreen, ...cursor } = stored;
  return { fresh: false, incarnation, cursor: { ...cursor, currentScreen: null }, unresolved: currentScreen };
}

/** Whether planning the inputs needs the run's current screen with its actions (the first is not an observation or the run's end). */
function needsScreen(inputs: ProjectionInput[]): boolean {
  const [first] = inputs;
  if (first?.kind !== 'event') return false;
  return first.event.type !== EventType.screenObserved && !isTerminalEvent(first.event.type);
}

/** A delivery validated: an invalid envelope is unusable, its event log copy is projected instead. */
function checked(delivery: Delivery): Checked {
  if (delivery.kind !== 'envelope') return delivery;
  try {
    return { kind: 'event', ref: delivery.ref, event: parseRunEvent(delivery.value) };
  } catch (error) {
    return { kind: 'unusable', ref: delivery.ref, reason: (error as Error).message };
  }
}

function groupByRun(deliveries: Delivery[]): Map<string, RunDeliveries> {
  const runs = new Map<string, RunDeliveries>();
  deliveries.map(checked).forEach((delivery, index) => {
    const { runId, seq, appPackage } = delivery.ref;
    const run = runs.get(runId) ?? { runId, appPackage: '', bySeq: new Map() };
    runs.set(runId, run);
    if (!run.appPackage && appPackage) run.appPackage = appPackage;
    const at = run.bySeq.get(seq);
    if (!at) {
      run.bySeq.set(seq, { delivery, indices: [index] });
      return;
    }
    // The same seq twice in a batch (a redelivery): one is projected (a valid event, when one is),
    // both are answered alike.
    if (at.delivery.kind !== 'event' && delivery.kind === 'event') at.delivery = delivery;
    at.indices.push(index);
  });
  return runs;
}

function isForeignKeyViolation(error: unknown): boolean {
  return (error as { code?: unknown }).code === '23503';
}

/** The run and seq of something that claims to be an event, or null when it does not say. */
export function refOfUnknown(value: unknown): EventRef | null {
  if (typeof value !== 'object' || value === null) return null;
  const { runId, seq, appPackage, eventId, type } = value as Record<string, unknown>;
  if (!isUlid(runId) || !Number.isSafeInteger(seq) || (seq as number) < 1) return null;
  return {
    runId,
    seq: seq as number,
    appPackage: typeof appPackage === 'string' && appPackage.length <= 255 ? appPackage : null,
    eventId: isUlid(eventId) ? eventId : null,
    eventType: typeof type === 'string' ? type.slice(0, 100) : null,
  };
}
