/** An action as a path step or a frontier entry shows it. */
export interface ActionInfo {
  actionId: string;
  screenId: string;
  actionType: string;
  targetSelector: string | null;
  targetBounds: number[] | null;
}

/** One action taken on a path: from a screen, by an action, to a screen. */
export interface Step {
  fromScreenId: string;
  actionId: string;
  actionType: string;
  targetSelector: string | null;
  targetBounds: number[] | null;
  toScreenId: string;
}

export interface FrontierEntry extends ActionInfo {
  /** Actions to take from `from` to reach the action's screen; null without `from`. */
  distance: number | null;
  path: Step[] | null;
}

interface Out {
  action: ActionInfo;
  to: number;
}

/**
 * An app's graph as the path and frontier queries walk it: screens by index, each with its
 * outgoing edges and its unexplored actions, all in id order so every answer is deterministic.
 */
export class GraphModel {
  private readonly index = new Map<string, number>();
  private readonly out: Out[][];
  private readonly unexplored: ActionInfo[][];

  /**
   * `edges` are [fromScreenId, actionId, toScreenId]; `actions` every action of the app, with
   * whether it has an edge (explored).
   */
  constructor(
    readonly screenIds: string[],
    edges: [string, string, string][],
    actions: (ActionInfo & { explored: boolean })[],
  ) {
    const sorted = [...screenIds].sort();
    this.screenIds = sorted;
    sorted.forEach((id, i) => this.index.set(id, i));
    this.out = sorted.map(() => []);
    this.unexplored = sorted.map(() => []);
    const byId = new Map<string, ActionInfo>();
    for (const { explored, ...action } of actions) {
      byId.set(action.actionId, action);
      const at = this.index.get(action.screenId);
      if (!explored && at !== undefined) this.unexplored[at]?.push(action);
    }
    for (const list of this.unexplored) list.sort((a, b) => compare(a.actionId, b.actionId));
    for (const [from, actionId, to] of edges) {
      const f = this.index.get(from);
      const t = this.index.get(to);
      const action = byId.get(actionId);
      if (f === undefined || t === undefined || !action) continue;
      this.out[f]?.push({ action, to: t });
    }
    for (const list of this.out) {
      list.sort((a, b) => compare(a.action.actionId, b.action.actionId) || a.to - b.to);
    }
  }

  has(screenId: string): boolean {
    return this.index.has(screenId);
  }

  /**
   * The shortest action sequence (fewest actions) from one screen to another; [] when they are
   * the same; null when `to` cannot be reached. Breadth-first over edges in (action id, target
   * screen id) order: among equally short paths, the first in that order wins, every time.
   */
  path(from: string, to: string): Step[] | null {
    const start = this.index.get(from);
    const goal = this.index.get(to);
    if (start === undefined || goal === undefined) return null;
    const { parents } = this.search(start, goal);
    return parents[goal] === undefined && start !== goal ? null : this.stepsTo(goal, parents);
  }

  /**
   * Unexplored actions (no run took them yet): ordered by the distance of their screen from
   * `from`, then screen id, then action id, each with the path to its screen; from every screen,
   * in id order and without paths, when there is no `from`.
   */
  frontier(from: string | undefined, limit: number): FrontierEntry[] {
    if (from === undefined) {
      const all: FrontierEntry[] = [];
      for (const actions of this.unexplored) {
        for (const action of actions) {
          if (all.length === limit) return all;
          all.push({ ...action, distance: null, path: null });
        }
      }
      return all;
    }
    const start = this.index.get(from);
    if (start === undefined) return [];
    const { order, parents, distances } = this.search(start);
    // Breadth-first order is distance order; screens at the same distance go by id.
    const byDistance = [...order].sort((a, b) => (distances[a] ?? 0) - (distances[b] ?? 0) || a - b);
    const entries: FrontierEntry[] = [];
    for (const screen of byDistance) {
      for (const action of this.unexplored[screen] ?? []) {
        if (entries.length === limit) return entries;
        entries.push({ ...action, distance: distances[screen] ?? 0, path: this.stepsTo(screen, parents) });
      }
    }
    return entries;
  }

  private search(start: number, goal?: number) {
    const parents: (Out & { from: number })[] = [];
    const distances: number[] = [];
    distances[start] = 0;
    const order = [start];
    for (let head = 0; head < order.length; head++) {
      const screen = order[head] as number;
      if (screen === goal) break;
      for (const edge of this.out[screen] ?? []) {
        if (distances[edge.to] !== undefined) continue;
        distances[edge.to] = (distances[screen] ?? 0) + 1;
        parents[edge.to] = { ...edge, from: screen };
        order.push(edge.to);
      }
    }
    return { order, parents, distances };
  }

  private stepsTo(screen: number, parents: (Out & { from: number })[]): Step[] {
    const steps: Step[] = [];
    for (let at = parents[screen]; at !== undefined; at = parents[at.from]) {
      steps.push({
        fromScreenId: this.screenIds[at.from] as string,
        actionId: at.action.actionId,
        actionType: at.action.actionType,
        targetSelector: at.action.targetSelector,
        targetBounds: at.action.targetBounds,
        toScreenId: this.screenIds[at.to] as string,
      });
    }
    return steps.reverse();
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
