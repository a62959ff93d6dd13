import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '@screengraph/shared';
import {
  CancelBodySchema,
  ClaimBodySchema,
  CreateRunBodySchema,
  FailBodySchema,
  ListRunsQuerySchema,
  RunIdParamsSchema,
  RunPageSchema,
  RunSchema,
  WorkerBodySchema,
} from '@screengraph/shared/api/runs';
import { Type } from 'typebox';

/** Run lifecycle: create, list, read, claim (the oldest queued or a given run), complete, fail, cancel, heartbeat. */
const runRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const runs = app.runsRepository;

  app.post(
    '/runs',
    { schema: { body: CreateRunBodySchema, response: { 201: RunSchema, ...errorResponses(400, 413, 415) } } },
    async (request, reply) =>
      reply.status(201).send(await runs.create(request.body.appPackage, request.body.config ?? null)),
  );

  app.get(
    '/runs',
    { schema: { querystring: ListRunsQuerySchema, response: { 200: RunPageSchema, ...errorResponses(400) } } },
    async (request) => {
      const page = await runs.list(request.query);
      const last = page.at(-1);
      return { runs: page, nextAfter: page.length === request.query.limit && last ? last.runId : null };
    },
  );

  app.get(
    '/runs/:runId',
    { schema: { params: RunIdParamsSchema, response: { 200: RunSchema, ...errorResponses(400, 404) } } },
    async (request) => runs.get(request.params.runId),
  );

  app.post(
    '/runs/claim',
    { schema: { body: ClaimBodySchema, response: { 200: RunSchema, 204: Type.Null(), ...errorResponses(400) } } },
    async (request, reply) => {
      const run = await runs.claim(request.body.workerId, request.body.appPackage);
      return run ? run : reply.status(204).send(null);
    },
  );

  const lifecycle = { params: RunIdParamsSchema, response: { 200: RunSchema, ...errorResponses(400, 404, 409) } };

  // A given run, for an agent that created it itself; claiming it again is a retry.
  app.post('/runs/:runId/claim', { schema: { ...lifecycle, body: WorkerBodySchema } }, async (request) =>
    runs.change(request.params.runId, { type: 'claim', workerId: request.body.workerId }),
  );

  app.post('/runs/:runId/complete', { schema: { ...lifecycle, body: WorkerBodySchema } }, async (request) =>
    runs.change(request.params.runId, { type: 'complete', workerId: request.body.workerId }),
  );

  app.post('/runs/:runId/fail', { schema: { ...lifecycle, body: FailBodySchema } }, async (request) =>
    runs.change(request.params.runId, { type: 'fail', workerId: request.body.workerId, reason: request.body.reason }),
  );

  app.post('/runs/:runId/cancel', { schema: { ...lifecycle, body: CancelBodySchema } }, async (request) =>
    runs.change(request.params.runId, { type: 'cancel', reason: request.body?.reason ?? null }),
  );

  app.post(
    '/runs/:runId/heartbeat',
    {
      schema: {
        params: RunIdParamsSchema,
        body: WorkerBodySchema,
        response: { 204: Type.Null(), ...errorResponses(400, 404, 409) },
      },
    },
    async (request, reply) => {
      await runs.heartbeat(request.params.runId, request.body.workerId);
      return reply.status(204).send(null);
    },
  );
};

export default runRoutes;
