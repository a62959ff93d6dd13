import type pg from 'pg';
import { type ActionInfo, GraphModel } from './graph-model.js';

/**
 * Each app's graph model, loaded once and kept until the graph changes: the projection notifies
 * (`GRAPH_CHANGED_CHANNEL`, at commit) when it adds a screen, an action or an edge, from any
 * instance. A change during a load makes that load's result serve only the requests that were
 * waiting for it. Concurrent requests share one load.
 */
export class GraphCache {
  private readonly models = new Map<string, { generation: number; model: Promise<GraphModel> }>();
  private readonly generations = new Map<string, number>();
  private everything = 0;

  constructor(private readonly pool: pg.Pool) {}

  /** The app's graph changed; `*`: every app's did (a rebuild, a lost notification connection). */
  invalidate(appPackage: string): void {
    if (appPackage === '*') {
      this.everything++;
      this.models.clear();
      return;
    }
    this.generations.set(appPackage, (this.generations.get(appPackage) ?? 0) + 1);
    this.models.delete(appPackage);
  }

  model(appPackage: string): Promise<GraphModel> {
    const generation = this.everything * 1_000_000_007 + (this.generations.get(appPackage) ?? 0);
    const cached = this.models.get(appPackage);
    if (cached && cached.generation === generation) return cached.model;
    const model = this.load(appPackage);
    this.models.set(appPackage, { generation, model });
    model.catch(() => {
      if (this.models.get(appPackage)?.model === model) this.models.delete(appPackage);
    });
    return model;
  }

  private async load(appPackage: string): Promise<GraphModel> {
    const [screens, edges, actions] = await Promise.all([
      this.pool.query({
        text: 'SELECT screen_id FROM screens WHERE app_package = $1',
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
    return new GraphModel(
      screens.rows.map((row) => row[0]),
      edges.rows as [string, string, string][],
      actions.rows.map(
        ([actionId, screenId, actionType, targetSelector, targetBounds, explored]): ActionInfo & {
          explored: boolean;
        } => ({
          actionId,
          screenId,
          actionType,
          targetSelector,
          targetBounds,
          explored,
        }),
      ),
    );
  }
}
