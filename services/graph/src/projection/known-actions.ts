import type { EventRef } from './graph-store.js';
import type { ScreenAction } from './observation.js';

/** An event's place in "earlier" order: run id (a ULID: creation order), then seq. */
type Sighting = Pick<EventRef, 'runId' | 'seq'>;

const atOrBefore = (a: Sighting, b: Sighting) => a.runId < b.runId || (a.runId === b.runId && a.seq <= b.seq);

/**
 * Actions this process saw committed, each with an event at or after its stored first sighting.
 * A screen is observed again and again with the same actions, and merging an action whose first
 * sighting is already at or before the observing event changes nothing (only the earliest
 * sighting's attributes are kept), yet costs a lookup and a row lock per action and their JSON
 * both ways. So those are left out of the statement.
 *
 * What is remembered stays true while the rows exist, because a first sighting only ever moves
 * earlier. Rows go only when an app's graph is dropped, and a drop deletes the app's cursors
 * too: every later write of this process then fails its cursor guard (a cursor made again by a
 * rebuild is another incarnation, whatever its state), takes the careful path and forgets
 * everything here first.
 */
export class KnownActions {
  private readonly firsts = new Map<string, Sighting>();

  constructor(private readonly capacity = 50_000) {}

  /** Those of `actions` whose merge at `event` may change something. */
  toMerge(actions: ScreenAction[], event: Sighting): ScreenAction[] {
    return actions.filter((action) => {
      const known = this.firsts.get(action.actionId);
      return known === undefined || !atOrBefore(known, event);
    });
  }

  /** `actions` were merged at `event`, and that committed: each is stored, first seen at or before it. */
  merged(actions: ScreenAction[], event: Sighting): void {
    for (const { actionId } of actions) {
      const known = this.firsts.get(actionId);
      if (known !== undefined && atOrBefore(known, event)) continue;
      this.firsts.delete(actionId);
      this.firsts.set(actionId, { runId: event.runId, seq: event.seq });
      if (this.firsts.size > this.capacity) this.firsts.delete(this.firsts.keys().next().value as string);
    }
  }

  forget(): void {
    this.firsts.clear();
  }
}
