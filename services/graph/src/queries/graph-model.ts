/** An action as a path step or a frontier entry shows it. */
export interface ActionInfo {
  actionId: string;
  screenId: string;
  actionType: string;
  targetSelector: string | null;
  targetBounds: number[] | null;
  /** Where to tap, in pixels of its screen; null for screen-level actions or a screen of unknown size. */
  targetCenter: [number, number] | null;
}

/** An action of the app as the model is built from it (its centre is worked out from its screen's size). */
export type ModelAction = Omit<ActionInfo, 'targetCenter'> & { explored: boolean };

/** One action taken on a path: from a screen, by an action, to a screen. */
export interface Step {
  fromScreenId: string;
  actionId: string;
  actionType: string;
  targetSelector: string | null;
  targetBounds: number[] | null;
  targetCenter: [number, number] | null;
  toScreenId: string;
}

export interface FrontierEntry extends ActionInfo {
  /** Actions to take from `from` to reach the action's screen; null without `from`. */
  distance: number | null;
  path: Step[] | null;
}

/**
 * An app's graph as the path and frontier queries walk it: screens by index (in id order), their
 * outgoing edges in compressed rows (each screen's edges contiguous, in action id then target
 * order), each screen's unexplored actions in id order. Every answer is deterministic, and a
 * breadth-first search over 10,000 screens touches only typed arrays.
 */
export class GraphModel {
  readonly screenIds: string[];
  private readonly index = new Map<string, number>();
  /** Edges of screen i are offsets[i] .. offsets[i + 1] - 1 of targets and edgeActions. */
  private readonly offsets: Int32Array;
  private readonly targets: Int32Array;
  private readonly edgeActions: ActionInfo[];
  /** 1 when the edge's action always led to this one screen; 0 when it led to others too (back, a login). */
  private readonly reliable: Uint8Array;
  private readonly unexplored: ActionInfo[][];
  private depthsFrom: { from: string; depths: Int32Array } | undefined;

  /**
   * `edges` are [fromScreenId, actionId, toScreenId]; `actions` every action of the app, with
   * whether it has an edge (explored); `sizes` the screens' sizes in pixels, where known.
   */
  constructor(
    screenIds: string[],
    edges: [string, string, string][],
    actions: ModelAction[],
    sizes: ReadonlyMap<string, [number, number]> = new Map(),
  ) {
    this.screenIds = [...screenIds].sort();
    this.screenIds.forEach((id, i) => {
      this.index.set(id, i);
    });
    const count = this.screenIds.length;
    this.unexplored = Array.from({ length: count }, () => []);
    const byId = new Map<string, ActionInfo>();
    for (const { explored, ...fields } of actions) {
      const action = { ...fields, targetCenter: centerOf(fields.targetBounds, sizes.get(fields.screenId)) };
      byId.set(action.actionId, action);
      const at = this.index.get(action.screenId);
      if (!explored && at !== undefined) this.unexplored[at]?.push(action);
    }
    for (const list of this.unexplored) list.sort((a, b) => compare(a.actionId, b.actionId));

    const known: { from: number; to: number; action: ActionInfo }[] = [];
    for (const [from, actionId, to] of edges) {
      const f = this.index.get(from);
      const t = this.index.get(to);
      const action = byId.get(actionId);
      if (f !== undefined && t !== undefined && action) known.push({ from: f, to: t, action });
    }
    known.sort((a, b) => a.from - b.from || compare(a.action.actionId, b.action.actionId) || a.to - b.to);
    const outcomes = new Map<string, number>();
    for (const { action } of known) outcomes.set(action.actionId, (outcomes.get(action.actionId) ?? 0) + 1);
    this.offsets = new Int32Array(count + 1);
    this.targets = new Int32Array(known.length);
    this.edgeActions = new Array(known.length);
    this.reliable = new Uint8Array(known.length);
    known.forEach((edge, i) => {
      this.offsets[edge.from + 1] = (this.offsets[edge.from + 1] ?? 0) + 1;
      this.targets[i] = edge.to;
      this.edgeActions[i] = edge.action;
      this.reliable[i] = outcomes.get(edge.action.actionId) === 1 ? 1 : 0;
    });
    for (let i = 0; i < count; i++) this.offsets[i + 1] = (this.offsets[i + 1] ?? 0) + (this.offsets[i] ?? 0);
  }

  has(screenId: string): boolean {
    return this.index.has(screenId);
  }

  /**
   * The shortest action sequence (fewest actions) from one screen to another that an agent can
   * follow: through actions that always led to the same screen when there is such a path, else
   * through any (an action that led to several screens, as `back` does from a screen reached from
   * several others, or a sign-in that sometimes fails, may go elsewhere); [] when they are the
   * same; null when `to` cannot be reached. Breadth-first, each level in screen id order and each
   * screen's edges in (action id, target) order: among equally short paths, a screen is reached
   * from the lowest-id screen of the level before, by its first edge there. The frontier's paths
   * are the same ones.
   */
  path(from: string, to: string): Step[] | null {
    const start = this.index.get(from);
    const goal = this.index.get(to);
    if (start === undefined || goal === undefined) return null;
    if (start === goal) return [];
    for (const reliableOnly of [true, false]) {
      const search = new Search(this, start, reliableOnly);
      while (search.expandLevel()) if (search.reached(goal)) return this.stepsTo(goal, search);
    }
    return null;
  }

  /**
   * Unexplored actions (no run took them yet): ordered by the distance of their screen from
   * `from`, then screen id, then action id, each with the path to its screen; from every screen,
   * in id order and without paths, when there is no `from`. The screens reliable actions reach
   * (as `path` prefers them) come first, then those that only ambiguous ones do. The search stops
   * at the level that fills the limit.
   */
  frontier(from: string | undefined, limit: number): FrontierEntry[] {
    const entries: FrontierEntry[] = [];
    if (from === undefined) {
      for (const actions of this.unexplored) {
        for (const action of actions) {
          if (entries.length === limit) return entries;
          entries.push({ ...action, distance: null, path: null });
        }
      }
      return entries;
    }
    const start = this.index.get(from);
    if (start === undefined) return entries;
    const listed = new Uint8Array(this.screenIds.length);
    for (const reliableOnly of [true, false]) {
      const search = new Search(this, start, reliableOnly);
      for (let level: Int32Array | null = Int32Array.of(start), distance = 0; level; distance++) {
        for (const screen of level) {
          if (listed[screen]) continue;
          listed[screen] = 1;
          for (const action of this.unexplored[screen] ?? []) {
            if (entries.length === limit) return entries;
            entries.push({ ...action, distance, path: this.stepsTo(screen, search) });
          }
        }
        level = search.expandLevel();
      }
    }
    return entries;
  }

  /**
   * Each screen's depth: the fewest actions from `from` to it (through any edge), -1 where
   * nothing leads; kept for the next caller (the console asks for the entry screen's every time).
   */
  depths(from: string): Int32Array {
    if (this.depthsFrom?.from === from) return this.depthsFrom.depths;
    const depths = new Int32Array(this.screenIds.length).fill(-1);
    const start = this.index.get(from);
    if (start !== undefined) {
      depths[start] = 0;
      const search = new Search(this, start, false);
      for (let level = search.expandLevel(), depth = 1; level; level = search.expandLevel(), depth++)
        for (const screen of level) depths[screen] = depth;
    }
    this.depthsFrom = { from, depths };
    return depths;
  }

  /** The depth (see `depths`) of one screen, null where nothing leads or for an unknown screen. */
  depthOf(depths: Int32Array, screenId: string): number | null {
    const depth = depths[this.index.get(screenId) ?? -1] ?? -1;
    return depth < 0 ? null : depth;
  }

  /** @internal the search reads the compressed rows directly. */
  edgesOf(screen: number): [number, number] {
    return [this.offsets[screen] ?? 0, this.offsets[screen + 1] ?? 0];
  }

  /** @internal */
  targetOf(edge: number): number {
    return this.targets[edge] ?? -1;
  }

  /** @internal */
  isReliable(edge: number): boolean {
    return this.reliable[edge] === 1;
  }

  private stepsTo(screen: number, search: Search): Step[] {
    const steps: Step[] = [];
    for (
      let at = screen, edge = search.parentEdge(at);
      edge >= 0;
      at = search.parent(at), edge = search.parentEdge(at)
    ) {
      const action = this.edgeActions[edge] as ActionInfo;
      steps.push({
        fromScreenId: this.screenIds[search.parent(at)] as string,
        actionId: action.actionId,
        actionType: action.actionType,
        targetSelector: action.targetSelector,
        targetBounds: action.targetBounds,
        targetCenter: action.targetCenter,
        toScreenId: this.screenIds[at] as string,
      });
    }
    return steps.reverse();
  }
}

/** A breadth-first search, one level at a time in screen id order; the first edge to reach a screen is its parent. */
class Search {
  private readonly parents: Int32Array;
  private readonly parentEdges: Int32Array;
  private level: Int32Array;

  constructor(
    private readonly model: GraphModel,
    start: number,
    /** Only through edges whose action always led to the same screen. */
    private readonly reliableOnly: boolean,
  ) {
    const count = model.screenIds.length;
    this.parents = new Int32Array(count).fill(-1);
    this.parentEdges = new Int32Array(count).fill(-1);
    this.parents[start] = start;
    this.level = Int32Array.of(start);
  }

  reached(screen: number): boolean {
    return (this.parents[screen] ?? -1) >= 0;
  }

  parent(screen: number): number {
    return this.parents[screen] ?? -1;
  }

  parentEdge(screen: number): number {
    return this.parentEdges[screen] ?? -1;
  }

  /** Discovers the next level, in breadth-first order; null when there is none. */
  expandLevel(): Int32Array | null {
    const next: number[] = [];
    for (const screen of this.level) {
      const [first, end] = this.model.edgesOf(screen);
      for (let edge = first; edge < end; edge++) {
        if (this.reliableOnly && !this.model.isReliable(edge)) continue;
        const to = this.model.targetOf(edge);
        if ((this.parents[to] ?? 0) >= 0) continue;
        this.parents[to] = screen;
        this.parentEdges[to] = edge;
        next.push(to);
      }
    }
    // Each level in screen id order: the same parents whatever order rows were loaded in.
    this.level = Int32Array.from(next).sort();
    return next.length === 0 ? null : this.level;
  }
}

/** The centre of normalized bounds in pixels of a screen of `size`. */
function centerOf(bounds: number[] | null, size: [number, number] | undefined): [number, number] | null {
  if (bounds === null || size === undefined) return null;
  const [x1 = 0, y1 = 0, x2 = 0, y2 = 0] = bounds;
  return [Math.round(((x1 + x2) / 2) * size[0]), Math.round(((y1 + y2) / 2) * size[1])];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
