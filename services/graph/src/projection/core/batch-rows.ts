import type { ActionType, PersistenceOutcome } from '@screengraph/shared';
import type { ScreenAction } from '../inputs/observation.js';
import type { CursorState, EventRef, PlannedEvent } from './plan.js';

/**
 * A batch's rows, merged in memory before one write: a row seen by several events of the batch is
 * merged once, by the rules the store merges it with a stored row (store/statements.ts). "First"
 * is the earliest (run id, seq) that saw it (run ids are ULIDs: creation order), whose attributes
 * it keeps; "last" the latest; counts add up. So a batch gives the very rows one event at a time
 * gives, in any order.
 */

/** Where a run's cursor must be for its part of the batch to be written, and where it goes. */
export interface CursorGuard {
  /** No cursor row yet: the batch makes it (and fails if another instance made it meanwhile). */
  fresh: boolean;
  lastSeq: number;
  currentScreenId: string | null;
  pendingActionId: string | null;
  /** Which making of the cursor row was planned from; null when fresh. */
  incarnation: string | null;
}

/** A run's part of a batch: where its cursor must be, its planned events, where the cursor goes. */
export interface RunPart {
  runId: string;
  /** The run's app; '' when no message of it named one (a run whose only message is poison). */
  appPackage: string;
  guard: CursorGuard;
  events: PlannedEvent[];
  next: CursorState;
}

/** An event's place in "earlier" order. */
export interface Sighting {
  runId: string;
  seq: number;
}

export const isEarlier = (a: Sighting, b: Sighting) => a.runId < b.runId || (a.runId === b.runId && a.seq < b.seq);

/** Which of a screen's actions an observation's write must merge (the rest are known stored, first seen at or before it). */
export type ActionsToMerge = (actions: ScreenAction[], at: Sighting) => ScreenAction[];

export interface CursorRow {
  run_id: string;
  app_package: string;
  fresh: boolean;
  from_seq: number;
  guard_screen_id: string | null;
  guard_pending_action_id: string | null;
  incarnation: string | null;
  to_seq: number;
  screen_id: string | null;
  screen_seq: number | null;
  pending_action_id: string | null;
  pending_screen_id: string | null;
}

interface FirstAndLast {
  first_run_id: string;
  first_seq: number;
  first_seen_at: string;
  last_run_id: string;
  last_seq: number;
  last_seen_at: string;
  observations: number;
}

export interface ScreenRow extends FirstAndLast {
  screen_id: string;
  app_package: string;
  layout_hash: string;
  identity_version: number | null;
  activity: string | null;
  width: number | null;
  height: number | null;
  title: string | null;
  /** The dHash as a signed 64-bit integer in decimal (a JavaScript number cannot hold it). */
  perceptual_hash: string | null;
  screenshot_artifact_id: string | null;
  picture_run_id: string | null;
  picture_seq: number | null;
}

export interface ActionRow {
  action_id: string;
  screen_id: string;
  app_package: string;
  action_type: ActionType;
  origin: 'discovered' | 'performed';
  target_selector: string | null;
  target_bounds: number[] | null;
  target_class: string | null;
  target_resource_id: string | null;
  first_run_id: string;
  first_seq: number;
}

export interface EdgeRow extends FirstAndLast {
  edge_id: string;
  app_package: string;
  from_screen_id: string;
  action_id: string;
  to_screen_id: string;
}

export interface OutcomeRow {
  run_id: string;
  seq: number;
  app_package: string | null;
  event_id: string | null;
  event_type: string | null;
  outcome: PersistenceOutcome;
  screen_id: string | null;
  action_id: string | null;
  edge_id: string | null;
  detail: string | null;
}

export interface BatchRows {
  cursors: CursorRow[];
  screens: ScreenRow[];
  actions: ActionRow[];
  edges: EdgeRow[];
  outcomes: OutcomeRow[];
}

const sightingOf = (row: { first_run_id: string; first_seq: number }): Sighting => ({
  runId: row.first_run_id,
  seq: row.first_seq,
});
const lastOf = (row: FirstAndLast): Sighting => ({ runId: row.last_run_id, seq: row.last_seq });

/** `row` seen again at `at`: the earlier sighting's first columns, the later one's last, one more observation. */
function seenAgain<R extends FirstAndLast>(row: R, again: R): void {
  if (isEarlier(sightingOf(again), sightingOf(row))) {
    row.first_run_id = again.first_run_id;
    row.first_seq = again.first_seq;
    row.first_seen_at = again.first_seen_at;
  }
  if (isEarlier(lastOf(row), lastOf(again))) {
    row.last_run_id = again.last_run_id;
    row.last_seq = again.last_seq;
    row.last_seen_at = again.last_seen_at;
  }
  row.observations += again.observations;
}

/** The rows of a batch's runs, each merged once. */
export function batchRows(parts: RunPart[], toMerge: ActionsToMerge): BatchRows {
  const screens = new Map<string, ScreenRow>();
  const actions = new Map<string, ActionRow>();
  const edges = new Map<string, EdgeRow>();
  const outcomes: OutcomeRow[] = [];

  const mergeAction = (row: ActionRow) => {
    const known = actions.get(row.action_id);
    if (!known || isEarlier(sightingOf(row), sightingOf(known))) actions.set(row.action_id, row);
  };

  for (const part of parts) {
    for (const { ref, recordedAt, plan } of part.events) {
      outcomes.push(outcomeRow(ref, plan));
      const at = { runId: ref.runId, seq: ref.seq };
      const seenAt = recordedAt ?? new Date(0).toISOString();
      const appPackage = ref.appPackage ?? part.appPackage;
      const { observation, edge, performed } = plan;
      if (observation) {
        const picture = observation.screenshotArtifactId !== null || observation.perceptualHash !== null;
        const row: ScreenRow = {
          screen_id: observation.screenId,
          app_package: appPackage,
          layout_hash: observation.layoutHash,
          identity_version: observation.identityVersion,
          activity: observation.activity,
          width: observation.width,
          height: observation.height,
          title: observation.title,
          perceptual_hash: observation.perceptualHash,
          screenshot_artifact_id: observation.screenshotArtifactId,
          picture_run_id: picture ? ref.runId : null,
          picture_seq: picture ? ref.seq : null,
          ...once(at, seenAt),
        };
        const known = screens.get(row.screen_id);
        if (!known) {
          screens.set(row.screen_id, row);
        } else {
          const keepsAttributes = isEarlier(sightingOf(known), at);
          const keepsPicture =
            row.picture_run_id === null ||
            (known.picture_run_id !== null &&
              known.picture_seq !== null &&
              isEarlier({ runId: known.picture_run_id, seq: known.picture_seq }, at));
          if (!keepsAttributes)
            Object.assign(known, { activity: row.activity, width: row.width, height: row.height, title: row.title });
          if (!keepsPicture) {
            Object.assign(known, {
              perceptual_hash: row.perceptual_hash,
              screenshot_artifact_id: row.screenshot_artifact_id,
              picture_run_id: row.picture_run_id,
              picture_seq: row.picture_seq,
            });
          }
          seenAgain(known, row);
        }
        for (const action of toMerge(observation.actions, at)) {
          mergeAction(actionRow(action, observation.screenId, appPackage, 'discovered', at));
        }
      }
      if (performed && plan.screenId !== null) {
        mergeAction(actionRow(performed, plan.screenId, appPackage, 'performed', at));
      }
      if (edge) {
        const row: EdgeRow = {
          edge_id: edge.edgeId,
          app_package: appPackage,
          from_screen_id: edge.fromScreenId,
          action_id: edge.actionId,
          to_screen_id: edge.toScreenId,
          ...once(at, seenAt),
        };
        const known = edges.get(row.edge_id);
        if (known) seenAgain(known, row);
        else edges.set(row.edge_id, row);
      }
    }
  }
  return {
    cursors: parts.map(cursorRow),
    screens: [...screens.values()],
    actions: [...actions.values()],
    edges: [...edges.values()],
    outcomes,
  };
}

const once = (at: Sighting, seenAt: string): FirstAndLast => ({
  first_run_id: at.runId,
  first_seq: at.seq,
  first_seen_at: seenAt,
  last_run_id: at.runId,
  last_seq: at.seq,
  last_seen_at: seenAt,
  observations: 1,
});

function actionRow(
  action: ScreenAction,
  screenId: string,
  appPackage: string,
  origin: ActionRow['origin'],
  at: Sighting,
): ActionRow {
  return {
    action_id: action.actionId,
    screen_id: screenId,
    app_package: appPackage,
    action_type: action.actionType,
    origin,
    target_selector: action.selector,
    target_bounds: action.bounds,
    target_class: action.className,
    target_resource_id: action.resourceId,
    first_run_id: at.runId,
    first_seq: at.seq,
  };
}

function outcomeRow(ref: EventRef, plan: PlannedEvent['plan']): OutcomeRow {
  return {
    run_id: ref.runId,
    seq: ref.seq,
    app_package: ref.appPackage,
    event_id: ref.eventId,
    event_type: ref.eventType,
    outcome: plan.outcome,
    screen_id: plan.screenId,
    action_id: plan.actionId,
    edge_id: plan.edge?.edgeId ?? null,
    detail: plan.detail,
  };
}

function cursorRow(part: RunPart): CursorRow {
  const { guard, next } = part;
  return {
    run_id: part.runId,
    app_package: part.appPackage,
    fresh: guard.fresh,
    from_seq: guard.lastSeq,
    guard_screen_id: guard.currentScreenId,
    guard_pending_action_id: guard.pendingActionId,
    incarnation: guard.incarnation,
    to_seq: next.lastSeq,
    screen_id: next.currentScreen?.screenId ?? null,
    screen_seq: next.currentScreen?.seq ?? null,
    pending_action_id: next.pendingActionId,
    pending_screen_id: next.pendingScreenId,
  };
}
