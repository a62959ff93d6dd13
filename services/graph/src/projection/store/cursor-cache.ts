import { LRUCache } from 'lru-cache';
import type { CursorState } from '../core/plan.js';

/** A run's cursor as this process left it: the state to plan from, and which making of the row it is. */
export interface KnownCursor extends CursorState {
  incarnation: string;
}

/**
 * Cursors this process wrote, by run, so the common case (the next events of a run this process
 * projects) is planned without reading anything and written by one guarded statement. An entry
 * is only ever a guess: the write's compare-and-set tells when the stored cursor is elsewhere.
 */
export class CursorCache {
  private readonly cursors: LRUCache<string, KnownCursor>;

  constructor(capacity = 10_000) {
    this.cursors = new LRUCache({ max: capacity });
  }

  get(runId: string): KnownCursor | undefined {
    return this.cursors.get(runId);
  }

  set(runId: string, cursor: KnownCursor): void {
    this.cursors.set(runId, cursor);
  }

  delete(runId: string): void {
    this.cursors.delete(runId);
  }

  clear(): void {
    this.cursors.clear();
  }
}
