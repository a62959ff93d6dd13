import { EventType, type RunEvent } from '@screengraph/shared';
import { edgeIdOf } from './ids.js';
import { type Observation, type ScreenAction, Unprojectable } from './observation.js';
import { type CurrentScreen, resolveAction } from './resolve-action.js';

/** What the projection of a run knows after its last projected event. */
export interface CursorState {
  lastSeq: number;
  currentScreen: CurrentScreen | null;
  pendingActionId: string | null;
  pendingScreenId: string | null;
}

export type OutcomeKind = 'screen_observed' | 'action_matched' | 'action_added' | 'no_effect' | 'rejected';

/**
 * Everything one event does, decided from the run's cursor and the event alone, before any write:
 * the rows to merge, the outcome, the cursor after it.
 */
export interface Plan {
  outcome: OutcomeKind;
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

const TERMINAL = new Set<string>([EventType.runCompleted, EventType.runFailed, EventType.runCancelled]);

function plain(seq: number, outcome: OutcomeKind, detail: string | null, next: Omit<CursorState, 'lastSeq'>): Plan {
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

const LOST = { currentScreen: null, pendingActionId: null, pendingScreenId: null };

/** A message that failed validation: recorded, and the run's position on screen is unknown after it. */
export function planRejection(seq: number, reason: string): Plan {
  return plain(seq, 'rejected', reason, LOST);
}

/** What a valid event does, given the run's cursor just before it. */
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
        outcome: 'screen_observed',
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
        return planRejectionFree(event.seq, 'no screen observed since the run started or since its last action');
      }
      const { action, matchedBy } = resolveAction(screen, event.data);
      return {
        outcome: matchedBy === null ? 'action_added' : 'action_matched',
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
      return plain(
        event.seq,
        'no_effect',
        'run lifecycle',
        TERMINAL.has(event.type)
          ? LOST
          : {
              currentScreen: cursor.currentScreen,
              pendingActionId: cursor.pendingActionId,
              pendingScreenId: cursor.pendingScreenId,
            },
      );
  }
}

function planRejectionFree(seq: number, detail: string): Plan {
  return plain(seq, 'no_effect', detail, LOST);
}
