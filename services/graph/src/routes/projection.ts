import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Errors, errorResponses } from '@screengraph/shared';
import {
  ProjectionSchema,
  RebuildBodySchema,
  RebuildResultSchema,
  RunIdParamsSchema,
} from '@screengraph/shared/api/graph';
import { type RunSummary, RunsServiceUnavailable } from '../projection/inputs/runs-client.js';
import { rebuild } from '../projection/rebuild.js';

/** How far each run is projected, and the rebuild from the event log. */
const projectionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/runs/:runId/projection',
    { schema: { params: RunIdParamsSchema, response: { 200: ProjectionSchema, ...errorResponses(400, 404) } } },
    async (request) => {
      const { runId } = request.params;
      const [projection, run] = await Promise.all([
        app.graphReads.projection(runId),
        app.runsClient.run(runId).catch((error: unknown): RunSummary | null | undefined => {
          if (error instanceof RunsServiceUnavailable) return undefined;
          throw error;
        }),
      ]);
      if (!projection && !run) throw Errors.runNotFound(runId);
      const projectedSeq = projection?.projectedSeq ?? 0;
      const headSeq = run ? run.lastSeq : null;
      return {
        runId,
        appPackage: projection?.appPackage || run?.appPackage || null,
        projectedSeq,
        headSeq,
        lag: headSeq === null ? null : Math.max(0, headSeq - projectedSeq),
        currentScreenId: projection?.currentScreenId ?? null,
        outcomes: projection?.outcomes ?? {},
      };
    },
  );

  app.post(
    '/admin/rebuild',
    { schema: { body: RebuildBodySchema, response: { 200: RebuildResultSchema, ...errorResponses(400, 503) } } },
    async (request) => {
      try {
        return await rebuild(app.pg.pool, app.runsClient, {
          appPackage: request.body?.appPackage,
          log: app.log,
          artifacts: app.artifactBytes,
        });
      } catch (error) {
        if (error instanceof RunsServiceUnavailable) throw Errors.runsServiceUnavailable(error.message);
        throw error;
      }
    },
  );
};

export default projectionRoutes;
