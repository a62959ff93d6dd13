import { LRUCache } from 'lru-cache';
import { isEarlier, type Sighting } from '../core/batch-rows.js';
import type { ScreenAction } from '../inputs/observation.js';

const atOrBefore = (a: Sighting, b: Sighting) => !isEarlier(b, a);

/**
 * Actions this process saw committed, each with an event at or after its stored first sighting.
 * A screen is observed again and again with the same actions, and merging an action whose first
 * sighting is already at or before the observing event changes nothing (only the earliest
 * sighting's attributes are kept), yet costs a lookup and a row lock per action and their JSON
 * both ways. So those are left out of the write.
 *
 * What is remembered stays true while the rows exist, because a first sighting only ever moves
 * earlier. Rows go only when an app's graph is dropped, and a drop deletes the app's cursors
 * too: every later write of this process then fails its cursor guard (a cursor made again by a
 * rebuild is another incarnation, whatever its state), and what is known here is forgotten
 * first. (A write that still names an action the drop removed fails on its foreign key, and is
 * written again with nothing left out.)
 */
export class KnownActions {
  private readonly firsts: LRUCache<string, Sighting>;

  constructor(capacity = 50_000) {
    this.firsts = new LRUCache({ max: capacity });
  }

  /** Those of `actions` whose merge at `event` may change something. */
  toMerge(actions: ScreenAction[], event: Sighting): ScreenAction[] {
    return actions.filter((action) => {
      const known = this.firsts.peek(action.actionId);
      return known === undefined || !atOrBefore(known, event);
    });
  }

  /** `actions` were merged at `event`, and that committed: each is stored, first seen at or before it. */
  merged(actions: ScreenAction[], event: Sighting): void {
    for (const { actionId } of actions) {
      const known = this.firsts.peek(actionId);
      if (known !== undefined && atOrBefore(known, event)) continue;
      this.firsts.set(actionId, { runId: event.runId, seq: event.seq });
    }
  }

  forget(): void {
    this.firsts.clear();
  }
}
