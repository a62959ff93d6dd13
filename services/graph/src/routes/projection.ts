import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Errors, errorResponses } from '@screengraph/shared';
import {
  ProjectionSchema,
  RebuildBodySchema,
  RebuildResultSchema,
  RunIdParamsSchema,
} from '@screengraph/shared/api/graph';
import { rebuild } from '../projection/rebuild.js';
import { type RunSummary, RunsServiceUnavailable } from '../projection/runs-client.js';

/** How far each run is projected, and the rebuild from the event log. */
const projectionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/runs/:runId/projection',
    { schema: { params: RunIdParamsSchema, response: { 200: ProjectionSchema, ...errorResponses(400, 404) } } },
    async (request) => {
      const { runId } = request.params;
      const [cursor, outcomes, run] = await Promise.all([
        app.pg.query(
          'SELECT app_package, last_seq, current_screen_id FROM graph_projection_cursors WHERE run_id = $1',
          [runId],
        ),
        // A screen.observed found a new screen when it is the screen's first observation (in run order).
        app.pg.query(
          `SELECT CASE WHEN o.outcome <> 'screen_observed' THEN o.outcome::text
                       WHEN s.first_run_id = o.run_id AND s.first_seq = o.seq THEN 'screen_added'
                       ELSE 'screen_matched' END AS outcome, count(*)::int AS count
           FROM graph_persistence_outcomes o LEFT JOIN screens s ON s.screen_id = o.screen_id
           WHERE o.run_id = $1 GROUP BY 1`,
          [runId],
        ),
        app.runsClient.run(runId).catch((error: unknown): RunSummary | null | undefined => {
          if (error instanceof RunsServiceUnavailable) return undefined;
          throw error;
        }),
      ]);
      const row = cursor.rows[0];
      if (!row && !run) throw Errors.runNotFound(runId);
      const projectedSeq: number = row?.last_seq ?? 0;
      const headSeq = run ? run.lastSeq : null;
      return {
        runId,
        appPackage: row?.app_package || run?.appPackage || null,
        projectedSeq,
        headSeq,
        lag: headSeq === null ? null : Math.max(0, headSeq - projectedSeq),
        currentScreenId: row?.current_screen_id ?? null,
        outcomes: Object.fromEntries(outcomes.rows.map((outcome) => [outcome.outcome, outcome.count])),
      };
    },
  );

  app.post(
    '/admin/rebuild',
    { schema: { body: RebuildBodySchema, response: { 200: RebuildResultSchema, ...errorResponses(400, 503) } } },
    async (request) => {
      try {
        return await rebuild(app.projector, app.runsClient, request.body?.appPackage);
      } catch (error) {
        if (error instanceof RunsServiceUnavailable) throw Errors.runsServiceUnavailable(error.message);
        throw error;
      }
    },
  );
};

export default projectionRoutes;
