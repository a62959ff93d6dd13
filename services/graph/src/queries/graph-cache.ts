import type pg from 'pg';
import { GraphModel, type ModelAction } from './graph-model.js';

/** How long a load from a standby waits for it to replay the latest change, at most. */
const REPLAY_WAIT_MS = 1000;

/**
 * Each app's graph model, loaded once and kept until the graph changes: the projection tells
 * (GraphChanges: at once in its own process, on `GRAPH_CHANGED_CHANNEL` for the others) when it
 * adds a screen, an action or an edge. Concurrent requests share one load. While an app is being explored its graph changes
 * all the time, and loading a large one takes a while (~1 s for 10,000 screens and 100,000
 * actions): a request then waits for the new model at most `waitMs`, and is answered from the
 * previous one meanwhile, so answers lag the projection by at most one load.
 */
export class GraphCache {
  /** The current model of each app (loaded or loading); an invalidated app has none. */
  private readonly models = new Map<string, Promise<GraphModel>>();
  /** The newest model loaded of each app (by when its load began), to answer from while a newer one loads. */
  private readonly ready = new Map<string, { model: GraphModel; load: number }>();
  /** Loads begun so far; those before `trustedFrom` began before everything changed. */
  private loads = 0;
  private trustedFrom = 0;

  /** Models loaded from a standby that had not replayed the latest change yet: loaded again next time. */
  private readonly behind = new WeakSet<GraphModel>();
  /** On a standby: the primary's WAL position after the latest change, for loads to wait for. */
  private changedAt: Promise<string | null> | undefined;
  /** A change was told of since `changedAt` was read: the next load reads the primary's position again. */
  private changedSince = false;

  /**
   * `primary`, when `pool` is a hot standby's: a model loaded after a change waits (up to
   * REPLAY_WAIT_MS) until the standby has replayed the primary's WAL as far as it reached when
   * the first load after the change began (one primary query per load after changes, not per
   * change), so that the cache never keeps a model older than the latest change it was told of.
   */
  constructor(
    private readonly pool: pg.Pool,
    private readonly waitMs = 50,
    private readonly primary?: pg.Pool,
  ) {}

  /** The app's graph changed; `*`: every app's did (a rebuild, a lost notification connection). */
  invalidate(appPackage: string): void {
    // The primary's position is read by the next load, not here: a graph being explored changes
    // many times a second, and a position read later than the change is as good to wait for.
    if (this.primary) this.changedSince = true;
    if (appPackage === '*') {
      this.models.clear();
      this.ready.clear();
      this.trustedFrom = this.loads + 1;
    } else {
      this.models.delete(appPackage);
    }
  }

  async model(appPackage: string): Promise<GraphModel> {
    const cached = this.models.get(appPackage);
    if (cached) return cached;
    const model = this.load(appPackage);
    const load = ++this.loads;
    this.models.set(appPackage, model);
    model.then(
      (loaded) => {
        // Even a load overtaken by a change (its entry replaced or gone) is newer than the model
        // before it, so it is the one to answer from while the next loads.
        const last = this.ready.get(appPackage);
        if (load >= this.trustedFrom && (!last || last.load < load))
          this.ready.set(appPackage, { model: loaded, load });
        if (this.models.get(appPackage) === model && this.behind.has(loaded)) this.models.delete(appPackage);
      },
      () => {
        if (this.models.get(appPackage) === model) this.models.delete(appPackage);
      },
    );
    const previous = this.ready.get(appPackage)?.model;
    if (!previous) return model;
    let timer: NodeJS.Timeout | undefined;
    const stale = new Promise<GraphModel>((resolve) => {
      timer = setTimeout(() => resolve(previous), this.waitMs);
    });
    return Promise.race([model, stale]).finally(() => clearTimeout(timer));
  }

  /** False when the standby has not replayed the latest change within REPLAY_WAIT_MS. */
  private async replayed(): Promise<boolean> {
    if (this.primary && this.changedSince) {
      this.changedSince = false;
      this.changedAt = this.primary
        .query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')
        .then(({ rows }) => rows[0]?.lsn ?? null)
        .catch(() => null);
    }
    const lsn = await this.changedAt;
    if (!lsn) return true;
    const deadline = Date.now() + REPLAY_WAIT_MS;
    for (;;) {
      const { rows } = await this.pool.query<{ done: boolean | null }>({
        name: 'graph-cache-replayed',
        text: 'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done',
        values: [lsn],
      });
      if (rows[0]?.done) return true;
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  private async load(appPackage: string): Promise<GraphModel> {
    const fresh = await this.replayed();
    const model = await this.read(appPackage);
    if (!fresh) this.behind.add(model);
    return model;
  }

  private async read(appPackage: string): Promise<GraphModel> {
    const [screens, edges, actions] = await Promise.all([
      this.pool.query({
        text: 'SELECT screen_id, width, height FROM screens WHERE app_package = $1',
        values: [appPackage],
        rowMode: 'array',
      }),
      this.pool.query({
        text: 'SELECT from_screen_id, action_id, to_screen_id FROM edges WHERE app_package = $1',
        values: [appPackage],
        rowMode: 'array',
      }),
      this.pool.query({
        text: `SELECT a.action_id, a.screen_id, a.action_type, a.target_selector, a.target_bounds,
                 EXISTS (SELECT 1 FROM edges e WHERE e.action_id = a.action_id) AS explored
               FROM actions a WHERE a.app_package = $1`,
        values: [appPackage],
        rowMode: 'array',
      }),
    ]);
    const sizes = new Map<string, [number, number]>();
    for (const [screenId, width, height] of screens.rows) if (width && height) sizes.set(screenId, [width, height]);
    return new GraphModel(
      screens.rows.map((row) => row[0]),
      edges.rows as [string, string, string][],
      actions.rows.map(
        ([actionId, screenId, actionType, targetSelector, targetBounds, explored]): ModelAction => ({
          actionId,
          screenId,
          actionType,
          targetSelector,
          targetBounds,
          explored,
        }),
      ),
      sizes,
    );
  }
}
