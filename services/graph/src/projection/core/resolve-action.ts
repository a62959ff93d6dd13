import type { EventData, EventType } from '@screengraph/shared';
import { normalizeBounds } from '../../identity/discovered-actions.js';
import type { Bounds } from '../../identity/ui-tree.js';
import type { ScreenAction } from '../inputs/observation.js';
import { actionIdOf } from './ids.js';

export type ActionPerformedData = EventData<typeof EventType.actionPerformed>;

/** The screen a run is on, as its latest observation saw it: what an action.performed is resolved against. */
export interface CurrentScreen {
  screenId: string;
  /** Seq of the run's screen.observed it comes from (the cursor keeps only this and the id). */
  seq: number;
  width: number | null;
  height: number | null;
  actions: ScreenAction[];
}

/** The action an action.performed event is, on the run's current screen. */
export interface Resolution {
  action: ScreenAction;
  /** How it was found among the screen's actions; null: nothing matched, it is a new action. */
  matchedBy: 'selector' | 'bounds' | 'resource-id' | 'screen' | null;
}

/**
 * Resolves a performed action to one of the current screen's actions, so the performed and the
 * discovered action are one row: by the selector the service handed out, else by the target's
 * bounds (normalized like the discovered ones, within a pixel and a half; any row of a list) agreeing in resource-id
 * and class, else by a resource-id unique among the screen's actions of that type. A targetless
 * action (back, home, a key, …) is the screen's one action of that type. Only what matches nothing
 * becomes a new action, named by its target's signature (never its text).
 */
export function resolveAction(screen: CurrentScreen, data: ActionPerformedData): Resolution {
  const candidates = screen.actions.filter((action) => action.actionType === data.actionType);
  const { target, targetSelector } = data;

  if (targetSelector !== undefined) {
    const bySelector = candidates.find((action) => action.selector === targetSelector);
    if (bySelector) return { action: bySelector, matchedBy: 'selector' };
  }
  if (target === undefined && targetSelector === undefined) {
    const key = data.direction ?? data.keyCode ?? '';
    const actionId = actionIdOf(screen.screenId, data.actionType, key);
    const known = candidates.find((action) => action.actionId === actionId);
    return {
      action: known ?? {
        actionId,
        actionType: data.actionType,
        selector: null,
        bounds: null,
        className: null,
        resourceId: null,
      },
      matchedBy: known ? 'screen' : null,
    };
  }

  const agrees = (action: ScreenAction) =>
    (target?.resourceId === undefined || action.resourceId === target.resourceId) &&
    (target?.className === undefined || action.className === target.className);
  const bounds =
    target?.bounds && screen.width && screen.height
      ? normalizeBounds(target.bounds, screen.width, screen.height)
      : null;
  if (bounds && screen.width && screen.height) {
    const dx = 1.5 / screen.width;
    const dy = 1.5 / screen.height;
    const near = (other: Bounds) =>
      Math.abs(other[0] - bounds[0]) <= dx &&
      Math.abs(other[1] - bounds[1]) <= dy &&
      Math.abs(other[2] - bounds[2]) <= dx &&
      Math.abs(other[3] - bounds[3]) <= dy;
    const byBounds = candidates.find(
      (action) =>
        agrees(action) && ((action.bounds !== null && near(action.bounds)) || (action.otherBounds ?? []).some(near)),
    );
    if (byBounds) return { action: byBounds, matchedBy: 'bounds' };
  }
  if (target?.resourceId !== undefined) {
    const byId = candidates.filter((action) => action.resourceId === target.resourceId && agrees(action));
    const [only] = byId;
    if (only && byId.length === 1) return { action: only, matchedBy: 'resource-id' };
  }

  const className = target?.className ?? null;
  const resourceId = target?.resourceId ?? null;
  const signature = `performed|${targetSelector ?? ''}|${className ?? ''}|${resourceId ?? ''}|${bounds?.join(',') ?? ''}`;
  return {
    action: {
      actionId: actionIdOf(screen.screenId, data.actionType, signature),
      actionType: data.actionType,
      selector: targetSelector ?? null,
      bounds,
      className,
      resourceId,
    },
    matchedBy: null,
  };
}
