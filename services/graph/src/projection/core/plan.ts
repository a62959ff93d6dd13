import { EventType, isTerminalEvent, PersistenceOutcome, type RunEvent } from '@screengraph/shared';
import { type Observation, type ScreenAction, Unprojectable } from '../inputs/observation.js';
import { edgeIdOf } from './ids.js';
import { type CurrentScreen, resolveAction } from './resolve-action.js';

/** Which event of which run is projected, as far as it can be told even when it is invalid. */
export interface EventRef {
  runId: string;
  seq: number;
  appPackage: string | null;
  eventId: string | null;
  eventType: string | null;
}

/** What the projection of a run knows after its last projected event. */
export interface CursorState {
  lastSeq: number;
  currentScreen: CurrentScreen | null;
  pendingActionId: string | null;
  pendingScreenId: string | null;
}

/**
 * Everything one event does, decided from the run's cursor and the event alone, before any write:
 * the rows to merge, the outcome, the cursor after it.
 */
export interface Plan {
  outcome: PersistenceOutcome;
  detail: string | null;
  screenId: string | null;
  actionId: string | null;
  /** The observed screen, to merge with its discovered actions. */
  observation: Observation | null;
  /** An action performed on a target that matched nothing: a new action of the screen. */
  performed: ScreenAction | null;
  edge: { edgeId: string; fromScreenId: string; actionId: string; toScreenId: string } | null;
  next: CursorState;
}

/** Where the run is after an event that leaves it nowhere known: no screen, no pending action. */
const NOWHERE = { currentScreen: null, pendingActionId: null, pendingScreenId: null };

/** An event that changes no graph row: the outcome, why, and where the run is after it. */
function rowless(seq: number, outcome: PersistenceOutcome, detail: string, next: Omit<CursorState, 'lastSeq'>): Plan {
  return {
    outcome,
    detail,
    screenId: null,
    actionId: null,
    observation: null,
    performed: null,
    edge: null,
    next: { lastSeq: seq, ...next },
  };
}

/** A message that could not be used (invalid, or refused by the store): recorded; the run's position on screen is unknown after it. */
export function planRejection(seq: number, reason: string): Plan {
  return rowless(seq, PersistenceOutcome.rejected, reason, NOWHERE);
}

/** What a valid event does, given the run's cursor just before it (and, for an observation, what was read of it). */
export function planEvent(cursor: CursorState, event: RunEvent, observation?: Observation | Unprojectable): Plan {
  switch (event.type) {
    case EventType.screenObserved: {
      if (!observation || observation instanceof Unprojectable) {
        return planRejection(event.seq, observation?.message ?? 'no observation');
      }
      const { screenId, width, height, actions } = observation;
      const { pendingActionId, pendingScreenId } = cursor;
      const edge =
        pendingActionId !== null && pendingScreenId !== null
          ? {
              edgeId: edgeIdOf(pendingActionId, screenId),
              fromScreenId: pendingScreenId,
              actionId: pendingActionId,
              toScreenId: screenId,
            }
          : null;
      return {
        outcome: PersistenceOutcome.screenObserved,
        detail: observation.problem,
        screenId,
        actionId: null,
        observation,
        performed: null,
        edge,
        next: {
          lastSeq: event.seq,
          currentScreen: { screenId, seq: event.seq, width, height, actions },
          pendingActionId: null,
          pendingScreenId: null,
        },
      };
    }
    case EventType.actionPerformed: {
      const screen = cursor.currentScreen;
      if (screen === null) {
        // The service never guesses where a run is: an action with no screen before it ends nowhere.
        return rowless(
          event.seq,
          PersistenceOutcome.noEffect,
          'no screen observed since the run started or since its last action',
          NOWHERE,
        );
      }
      const { action, matchedBy } = resolveAction(screen, event.data);
      return {
        outcome: matchedBy === null ? PersistenceOutcome.actionAdded : PersistenceOutcome.actionMatched,
        detail: matchedBy === null ? 'matched no action of the screen' : `matched by ${matchedBy}`,
        screenId: screen.screenId,
        actionId: action.actionId,
        observation: null,
        performed: matchedBy === null ? action : null,
        edge: null,
        // Where the action led is unknown until the next observation.
        next: {
          lastSeq: event.seq,
          currentScreen: null,
          pendingActionId: action.actionId,
          pendingScreenId: screen.screenId,
        },
      };
    }
    default:
      return rowless(
        event.seq,
        PersistenceOutcome.noEffect,
        'run lifecycle',
        isTerminalEvent(event.type)
          ? NOWHERE
          : {
              currentScreen: cursor.currentScreen,
              pendingActionId: cursor.pendingActionId,
              pendingScreenId: cursor.pendingScreenId,
            },
      );
  }
}

/** What the projection is handed for one seq of a run: a valid event (its observation read), or a rejection. */
export type ProjectionInput =
  | { kind: 'event'; ref: EventRef; event: RunEvent; observation?: Observation | Unprojectable }
  | { kind: 'rejected'; ref: EventRef; reason: string };

/** One event of a batch, planned. */
export interface PlannedEvent {
  ref: EventRef;
  /** When the runs service committed it; null for a rejected message that was not an event. */
  recordedAt: string | null;
  plan: Plan;
}

/** Folds a run's consecutive inputs (seqs cursor.lastSeq + 1, + 2, …) through planEvent: each planned from the state the one before left. */
export function planRun(cursor: CursorState, inputs: ProjectionInput[]): { events: PlannedEvent[]; next: CursorState } {
  let state = cursor;
  const events = inputs.map((input): PlannedEvent => {
    if (input.ref.seq !== state.lastSeq + 1) {
      throw new Error(`run ${input.ref.runId}: seq ${input.ref.seq} planned after ${state.lastSeq}`);
    }
    const plan =
      input.kind === 'event'
        ? planEvent(state, input.event, input.observation)
        : planRejection(input.ref.seq, input.reason);
    state = plan.next;
    return { ref: input.ref, recordedAt: input.kind === 'event' ? input.event.recordedAt : null, plan };
  });
  return { events, next: state };
}
