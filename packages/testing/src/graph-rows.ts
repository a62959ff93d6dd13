export type Query = <T = Record<string, unknown>>(sql: string, values?: unknown[]) => Promise<T[]>;

/**
 * Every row the graph projection wrote, in a stable order, but for the clocks of the projection
 * itself: what a rebuild from the event log must give again, row for row.
 */
export async function graphRows(query: Query) {
  return {
    screens: await query('SELECT *, perceptual_hash::text FROM screens ORDER BY screen_id'),
    actions: await query('SELECT * FROM actions ORDER BY action_id'),
    edges: await query('SELECT * FROM edges ORDER BY edge_id'),
    cursors: await query(
      `SELECT run_id, app_package, last_seq, current_screen_id, current_screen_seq, pending_action_id, pending_screen_id
       FROM graph_projection_cursors ORDER BY run_id`,
    ),
    outcomes: await query(
      `SELECT run_id, seq, app_package, event_id, event_type, outcome, screen_id, action_id, edge_id, detail
       FROM graph_persistence_outcomes ORDER BY run_id, seq`,
    ),
  };
}
