import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '@screengraph/shared';
import {
  LatestSnapshotQuerySchema,
  ReplayQuerySchema,
  ReplaySchema,
  RunIdParamsSchema,
  SnapshotBodySchema,
  SnapshotReceiptSchema,
  SnapshotSchema,
} from '@screengraph/shared/api/runs';

/** Agents' state snapshots, and replay: everything to resume a run where it stopped. */
const snapshotRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const snapshots = app.snapshotsRepository;

  app.post(
    '/runs/:runId/snapshots',
    {
      schema: {
        params: RunIdParamsSchema,
        body: SnapshotBodySchema,
        response: {
          200: SnapshotReceiptSchema,
          201: SnapshotReceiptSchema,
          ...errorResponses(400, 404, 409, 413, 415),
        },
      },
    },
    async (request, reply) => {
      const { workerId, seq, state } = request.body;
      const { snapshot, stored } = await snapshots.save(request.params.runId, workerId, seq, state);
      const { state: _state, ...receipt } = snapshot;
      return reply.status(stored ? 201 : 200).send(receipt);
    },
  );

  app.get(
    '/runs/:runId/snapshots/latest',
    {
      schema: {
        params: RunIdParamsSchema,
        querystring: LatestSnapshotQuerySchema,
        response: { 200: SnapshotSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => snapshots.latest(request.params.runId, request.query.atOrBeforeSeq),
  );

  app.get(
    '/runs/:runId/replay',
    {
      schema: {
        params: RunIdParamsSchema,
        querystring: ReplayQuerySchema,
        response: { 200: ReplaySchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { run, snapshot, events } = await snapshots.replay(
        request.params.runId,
        request.query.afterSeq,
        request.query.limit,
      );
      const last = events.at(-1);
      return { run, snapshot, events, nextAfterSeq: last && last.seq < run.lastSeq ? last.seq : null };
    },
  );
};

export default snapshotRoutes;
