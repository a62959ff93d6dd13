import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  echoRequestId,
  installErrorHandling,
  registerLiveness,
  registerReadiness,
  requestIdOptions,
  requireBearerToken,
  typeboxValidatorCompiler,
} from '@screengraph/shared/http';
import metrics from '@screengraph/shared/metrics';
import nats from '@screengraph/shared/nats';
import { registerOpenApi } from '@screengraph/shared/openapi';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { GraphConfig } from './config.js';
import consolePlugin, { CONSOLE_PUBLIC_PATHS } from './plugins/console.js';
import database from './plugins/database.js';
import graphCache from './plugins/graph-cache.js';
import graphReads from './plugins/graph-reads.js';
import identityUpgrade from './plugins/identity-upgrade.js';
import projection from './plugins/projection.js';
import appRoutes from './routes/apps.js';
import identityRoutes from './routes/identity.js';
import projectionRoutes from './routes/projection.js';
import queryRoutes from './routes/queries.js';
import thumbnailRoutes from './routes/thumbnails.js';

export type GraphAppOptions = Omit<GraphConfig, 'host' | 'port' | 'logLevel'>;

/** The graph service as a Fastify plugin: infrastructure, the projection, then routes. It never listens. */
export const graphApp = fp(
  async (app: FastifyInstance, options: GraphAppOptions) => {
    app.setValidatorCompiler(typeboxValidatorCompiler);
    installErrorHandling(app);
    echoRequestId(app);
    requireBearerToken(app, options.apiToken, CONSOLE_PUBLIC_PATHS);
    await registerOpenApi(app, {
      title: 'ScreenGraph graph service',
      description:
        'One screen graph per app, projected from every run: screens, actions, paths, frontier, coverage, exports.',
      version: '0.1.0',
    });
    registerLiveness(app);
    await app.register(metrics, { prefix: 'screengraph_graph_' });

    await app.register(database, {
      databaseUrl: options.databaseUrl,
      readDatabaseUrl: options.readDatabaseUrl,
      poolSize: options.databasePoolSize,
    });
    await app.register(nats, { url: options.natsUrl, name: 'screengraph-graph' });
    registerReadiness(app, {
      database: () => app.pg.query('SELECT 1'),
      ...(app.readsFromStandby ? { readDatabase: () => app.readPool.query('SELECT 1') } : {}),
      nats: () => app.nats.ping(),
    });
    await app.register(projection, {
      runsUrl: options.runsUrl,
      apiToken: options.apiToken,
      artifactsBucket: options.artifactsBucket,
      consumer: {
        stream: options.eventsStream,
        subjectPrefix: options.eventsSubjectPrefix,
        durableName: options.consumerName,
        concurrency: options.projectionConcurrency,
        maxAckPending: options.projectionMaxAckPending,
        ackWaitMs: options.projectionAckWaitMs,
        ackDelayMs: options.projectionAckDelayMs,
      },
      databaseUrl: options.databaseUrl,
      rebalanceIntervalMs: options.projectionRebalanceIntervalMs,
    });

    await app.register(identityUpgrade, { enabled: options.projectionConcurrency > 0 });
    await app.register(graphReads);
    await app.register(graphCache, { databaseUrl: options.databaseUrl });

    await app.register(appRoutes);
    await app.register(queryRoutes);
    await app.register(identityRoutes);
    await app.register(projectionRoutes);
    await app.register(thumbnailRoutes);
    await app.register(consolePlugin, { consoleDir: options.consoleDir, runsUrl: options.runsUrl });
  },
  { name: 'graph-app' },
);

/** Builds the graph service's Fastify instance; the caller listens (or injects). */
export async function buildGraphApp(options: GraphAppOptions, serverOptions: FastifyServerOptions = {}) {
  const app = Fastify({ ...requestIdOptions, ...serverOptions }).withTypeProvider<TypeBoxTypeProvider>();
  await app.register(graphApp, options);
  return app;
}
