import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Errors, errorResponses } from '@screengraph/shared';
import {
  AppParamsSchema,
  AppSummaryQuerySchema,
  CoverageSchema,
  FrontierQuerySchema,
  FrontierSchema,
  GraphSummarySchema,
  IdentifyBodySchema,
  LookupQuerySchema,
  PathQuerySchema,
  PathSchema,
  ScreenDetailSchema,
  ScreenIdentitySchema,
  ScreenIdParamsSchema,
  ScreenPageQuerySchema,
  ScreenPageSchema,
  SubgraphQuerySchema,
  SubgraphSchema,
} from '@screengraph/shared/api/graph';
import { identifyScreen } from '../queries/identify-screen.js';
import { subgraph } from '../queries/subgraph.js';

/** What an exploring agent asks at step N, and what its team asks of an app's graph. */
const queryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const reads = app.graphReads;

  app.get(
    '/apps/:appPackage/screens',
    {
      schema: {
        params: AppParamsSchema,
        querystring: ScreenPageQuerySchema,
        response: { 200: ScreenPageSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => reads.screens(request.params.appPackage, request.query.limit, request.query.after),
  );

  app.get(
    '/apps/:appPackage/screens/lookup',
    {
      schema: {
        params: AppParamsSchema,
        querystring: LookupQuerySchema,
        response: { 200: ScreenDetailSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { appPackage } = request.params;
      const { layoutHash } = request.query;
      const screenId = await reads.screenIdByLayoutHash(appPackage, layoutHash);
      if (screenId === null) return reads.screenNotFound(appPackage, `with layout hash ${layoutHash}`);
      return reads.screenDetail(appPackage, screenId);
    },
  );

  app.post(
    '/apps/:appPackage/screens/identify',
    {
      schema: {
        params: AppParamsSchema,
        body: IdentifyBodySchema,
        response: { 200: ScreenIdentitySchema, ...errorResponses(400) },
      },
    },
    async (request) => identifyScreen(reads, request.params.appPackage, request.body),
  );

  app.get(
    '/apps/:appPackage/screens/:screenId',
    { schema: { params: ScreenIdParamsSchema, response: { 200: ScreenDetailSchema, ...errorResponses(400, 404) } } },
    async (request) => reads.screenDetail(request.params.appPackage, request.params.screenId),
  );

  app.get(
    '/apps/:appPackage/path',
    {
      schema: {
        params: AppParamsSchema,
        querystring: PathQuerySchema,
        response: { 200: PathSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { appPackage } = request.params;
      const { from, to } = request.query;
      const model = await app.graphCache.model(appPackage);
      for (const screenId of [from, to]) if (!model.has(screenId)) await reads.screenNotFound(appPackage, screenId);
      const steps = model.path(from, to);
      if (steps === null) throw Errors.noPath(from, to);
      return { from, to, steps };
    },
  );

  app.get(
    '/apps/:appPackage/frontier',
    {
      schema: {
        params: AppParamsSchema,
        querystring: FrontierQuerySchema,
        response: { 200: FrontierSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { appPackage } = request.params;
      const { from, limit } = request.query;
      const model = await app.graphCache.model(appPackage);
      if (from !== undefined && !model.has(from)) await reads.screenNotFound(appPackage, from);
      if (model.screenIds.length === 0) await reads.requireApp(appPackage);
      return { from: from ?? null, actions: model.frontier(from, limit) };
    },
  );

  app.get(
    '/apps/:appPackage/subgraph',
    {
      schema: {
        params: AppParamsSchema,
        querystring: SubgraphQuerySchema,
        response: { 200: SubgraphSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { appPackage } = request.params;
      const { around } = request.query;
      const model = await app.graphCache.model(appPackage);
      if (around !== undefined && !model.has(around)) await reads.screenNotFound(appPackage, around);
      if (model.screenIds.length === 0) await reads.requireApp(appPackage);
      const entry = await reads.entry(appPackage);
      return subgraph(app.readPool, model, appPackage, entry?.screenId ?? null, request.query);
    },
  );

  app.get(
    '/apps/:appPackage/coverage',
    { schema: { params: AppParamsSchema, response: { 200: CoverageSchema, ...errorResponses(400, 404) } } },
    async (request) => reads.coverage(request.params.appPackage),
  );

  app.get(
    '/apps/:appPackage/summary',
    {
      schema: {
        params: AppParamsSchema,
        querystring: AppSummaryQuerySchema,
        response: { 200: GraphSummarySchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => reads.summary(request.params.appPackage, request.query.leastExplored),
  );
};

export default queryRoutes;
