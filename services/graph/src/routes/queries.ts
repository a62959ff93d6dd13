import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Errors, errorResponses } from '@screengraph/shared';
import {
  AppParamsSchema,
  CoverageSchema,
  FrontierQuerySchema,
  FrontierSchema,
  LookupQuerySchema,
  PathQuerySchema,
  PathSchema,
  ScreenDetailSchema,
  ScreenIdParamsSchema,
  ScreenPageQuerySchema,
  ScreenPageSchema,
} from '@screengraph/shared/api/graph';
import { actionOf, assertKnownApp, edgeOf, SCREEN_COLUMNS, screenOf } from './rows.js';

/** What an exploring agent asks at step N, and what its team asks of an app's graph. */
const queryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const knownApp = (appPackage: string) => assertKnownApp(app.pg, appPackage);

  app.get(
    '/apps/:appPackage/screens',
    {
      schema: {
        params: AppParamsSchema,
        querystring: ScreenPageQuerySchema,
        response: { 200: ScreenPageSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { appPackage } = request.params;
      const { limit, after } = request.query;
      await knownApp(appPackage);
      const { rows } = await app.pg.query(
        `SELECT ${SCREEN_COLUMNS} FROM screens WHERE app_package = $1 AND screen_id > $2 ORDER BY screen_id LIMIT $3`,
        [appPackage, after ?? '', limit + 1],
      );
      const page = rows.slice(0, limit).map(screenOf);
      return { screens: page, nextAfter: rows.length > limit ? (page.at(-1)?.screenId ?? null) : null };
    },
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
      const { rows } = await app.pg.query('SELECT screen_id FROM screens WHERE app_package = $1 AND layout_hash = $2', [
        appPackage,
        request.query.layoutHash,
      ]);
      if (rows.length === 0) {
        await knownApp(appPackage);
        throw Errors.screenNotFound(appPackage, `with layout hash ${request.query.layoutHash}`);
      }
      return screenDetail(appPackage, rows[0].screen_id);
    },
  );

  app.get(
    '/apps/:appPackage/screens/:screenId',
    { schema: { params: ScreenIdParamsSchema, response: { 200: ScreenDetailSchema, ...errorResponses(400, 404) } } },
    async (request) => screenDetail(request.params.appPackage, request.params.screenId),
  );

  /** A screen, its actions (explored or not, and where each led), and the edges into it. */
  async function screenDetail(appPackage: string, screenId: string) {
    const [screen, actions, outgoing, incoming] = await Promise.all([
      app.pg.query(`SELECT ${SCREEN_COLUMNS} FROM screens WHERE screen_id = $1 AND app_package = $2`, [
        screenId,
        appPackage,
      ]),
      app.pg.query('SELECT * FROM actions WHERE screen_id = $1 ORDER BY action_id', [screenId]),
      app.pg.query('SELECT edge_id, action_id, to_screen_id, observations FROM edges WHERE from_screen_id = $1', [
        screenId,
      ]),
      app.pg.query('SELECT * FROM edges WHERE to_screen_id = $1 ORDER BY edge_id', [screenId]),
    ]);
    if (screen.rowCount === 0) {
      await knownApp(appPackage);
      throw Errors.screenNotFound(appPackage, screenId);
    }
    const leadsTo = new Map<string, { edgeId: string; toScreenId: string; observations: number }[]>();
    for (const row of outgoing.rows.sort((a, b) => (a.to_screen_id < b.to_screen_id ? -1 : 1))) {
      const list = leadsTo.get(row.action_id) ?? [];
      list.push({ edgeId: row.edge_id, toScreenId: row.to_screen_id, observations: row.observations });
      leadsTo.set(row.action_id, list);
    }
    return {
      screen: screenOf(screen.rows[0]),
      actions: actions.rows.map((row) => ({
        ...actionOf(row),
        explored: leadsTo.has(row.action_id),
        leadsTo: leadsTo.get(row.action_id) ?? [],
      })),
      incoming: incoming.rows.map(edgeOf),
    };
  }

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
      for (const screenId of [from, to]) {
        if (!model.has(screenId)) {
          await knownApp(appPackage);
          throw Errors.screenNotFound(appPackage, screenId);
        }
      }
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
      if (from !== undefined && !model.has(from)) {
        await knownApp(appPackage);
        throw Errors.screenNotFound(appPackage, from);
      }
      if (model.screenIds.length === 0) await knownApp(appPackage);
      return { from: from ?? null, actions: model.frontier(from, limit) };
    },
  );

  app.get(
    '/apps/:appPackage/coverage',
    { schema: { params: AppParamsSchema, response: { 200: CoverageSchema, ...errorResponses(400, 404) } } },
    async (request) => {
      const { appPackage } = request.params;
      const [counts, firsts, runs] = await Promise.all([
        app.pg.query(
          `SELECT
             (SELECT count(*) FROM screens WHERE app_package = $1)::int AS screens,
             (SELECT count(*) FROM actions WHERE app_package = $1)::int AS actions,
             (SELECT count(DISTINCT action_id) FROM edges WHERE app_package = $1)::int AS explored,
             (SELECT count(*) FROM edges WHERE app_package = $1)::int AS edges`,
          [appPackage],
        ),
        app.pg.query(
          'SELECT first_run_id, first_seq FROM screens WHERE app_package = $1 ORDER BY first_run_id, first_seq',
          [appPackage],
        ),
        app.pg.query('SELECT run_id FROM graph_projection_cursors WHERE app_package = $1 ORDER BY run_id', [
          appPackage,
        ]),
      ]);
      const { screens, actions, explored, edges } = counts.rows[0];
      if (screens === 0 && runs.rowCount === 0) throw Errors.appNotFound(appPackage);
      const series = new Map<string, [number, number][]>(runs.rows.map((row) => [row.run_id, []]));
      for (const row of firsts.rows) {
        const points = series.get(row.first_run_id) ?? [];
        const last = points.at(-1);
        if (last && last[0] === row.first_seq) last[1]++;
        else points.push([row.first_seq, (last?.[1] ?? 0) + 1]);
        series.set(row.first_run_id, points);
      }
      return {
        appPackage,
        screens,
        actions,
        exploredActions: explored,
        exploredRatio: actions === 0 ? 0 : explored / actions,
        edges,
        runs: runs.rowCount ?? 0,
        perRun: [...series.entries()]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([runId, points]) => ({ runId, newScreens: points.at(-1)?.[1] ?? 0, series: points })),
      };
    },
  );
};

export default queryRoutes;
