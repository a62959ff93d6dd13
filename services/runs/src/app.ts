import { fastifySSE } from '@fastify/sse';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { jetstreamManager } from '@nats-io/jetstream';
import { EventDataSchemas } from '@screengraph/shared';
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
import nats, { streamUnwritable } from '@screengraph/shared/nats';
import { registerOpenApi } from '@screengraph/shared/openapi';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { RunsConfig } from './config.js';
import artifactStore from './plugins/artifact-store.js';
import database from './plugins/database.js';
import idleReaper from './plugins/idle-reaper.js';
import liveEvents from './plugins/live-events.js';
import outboxRelay from './plugins/outbox-relay.js';
import runCommits from './plugins/run-commits.js';
import runsMetrics from './plugins/runs-metrics.js';
import runsRepository from './plugins/runs-repository.js';
import artifactRoutes from './routes/artifacts.js';
import eventStreamRoutes from './routes/event-stream.js';
import eventRoutes from './routes/events.js';
import outboxRoutes from './routes/outbox.js';
import runRoutes from './routes/runs.js';
import snapshotRoutes from './routes/snapshots.js';

/** Each event type's `data` schema in the OpenAPI document: `screen.observed` as ScreenObservedData. */
const EVENT_DATA_COMPONENTS = Object.fromEntries(
  Object.entries(EventDataSchemas).map(([type, schema]) => [
    `${type.replace(/(^|\.)(\w)/g, (_, __, letter: string) => letter.toUpperCase())}Data`,
    schema,
  ]),
);

export type RunsAppOptions = Omit<RunsConfig, 'host' | 'port' | 'logLevel' | 'bodyLimitBytes'> & {
  /** How often idle runs are looked for; defaults to a quarter of the idle timeout, at most 30 s. */
  reaperIntervalMs?: number;
  /** How often the relay looks for runs no commit notification announced. */
  relaySweepIntervalMs?: number;
};

/** The runs service as a Fastify plugin: infrastructure, then the domain, then routes. It never listens. */
export const runsApp = fp(
  async (app: FastifyInstance, options: RunsAppOptions) => {
    app.setValidatorCompiler(typeboxValidatorCompiler);
    installErrorHandling(app);
    echoRequestId(app);
    requireBearerToken(app, options.apiToken);
    await registerOpenApi(
      app,
      {
        title: 'ScreenGraph runs service',
        description: 'Exploration runs, their event logs, live event streams, artifacts and snapshots.',
        version: '0.1.0',
      },
      EVENT_DATA_COMPONENTS,
    );
    registerLiveness(app);
    await app.register(metrics, { prefix: 'screengraph_runs_' });

    await app.register(database, { databaseUrl: options.databaseUrl, poolSize: options.databasePoolSize });
    await app.register(nats, { url: options.natsUrl, name: 'screengraph-runs' });
    registerReadiness(app, {
      database: () => app.pg.query('SELECT 1'),
      nats: () => app.nats.ping(),
      // An instance that does not relay does not need the stream.
      ...(options.relayConcurrency > 0 ? { stream: () => streamHealth(app, options.eventsStream) } : {}),
    });
    // The named export is the bare plugin: wrapped, it serves the routes of every plugin of the app.
    await app.register(fp(fastifySSE, { name: '@fastify/sse' }), { heartbeatInterval: options.sseHeartbeatMs });

    await app.register(runCommits, { databaseUrl: options.databaseUrl });
    await app.register(runsRepository);
    await app.register(runsMetrics);
    await app.register(artifactStore, { bucket: options.artifactsBucket, replicas: options.artifactsReplicas });
    await app.register(idleReaper, {
      idleTimeoutMs: options.idleTimeoutMs,
      intervalMs: options.reaperIntervalMs ?? Math.min(options.idleTimeoutMs / 4, 30_000),
    });
    await app.register(liveEvents);
    await app.register(outboxRelay, {
      databaseUrl: options.databaseUrl,
      stream: {
        stream: options.eventsStream,
        subjectPrefix: options.eventsSubjectPrefix,
        maxAgeMs: options.eventsMaxAgeMs,
        duplicateWindowMs: options.eventsDuplicateWindowMs,
        replicas: options.eventsReplicas,
        publishTimeoutMs: 2000,
      },
      relay: {
        concurrency: options.relayConcurrency,
        batchSize: 2000,
        sweepIntervalMs: options.relaySweepIntervalMs ?? 2000,
        maxBackoffMs: 5000,
      },
    });

    await app.register(runRoutes);
    await app.register(eventRoutes);
    await app.register(eventStreamRoutes);
    await app.register(outboxRoutes);
    await app.register(snapshotRoutes);
    await app.register(artifactRoutes, { maxBytes: options.artifactMaxBytes });
  },
  { name: 'runs-app' },
);

/**
 * The run events stream, for readiness: without a leader (an election in a NATS cluster, or no
 * quorum) appends are still stored and publishing waits, so the service is degraded, not down.
 */
async function streamHealth(app: FastifyInstance, stream: string): Promise<unknown> {
  const nc = app.nats.current;
  if (!nc || !app.nats.up) return { degraded: 'NATS is not connected: appends are stored, publishing waits' };
  try {
    const info = await (await jetstreamManager(nc, { checkAPI: false, timeout: 800 })).streams.info(stream);
    const unwritable = streamUnwritable(info);
    if (unwritable) return { degraded: `${unwritable}: publishing waits` };
    return undefined;
  } catch (error) {
    return { degraded: `the stream does not answer (${(error as Error).message}): publishing waits` };
  }
}

/** Builds the runs service's Fastify instance with its server options; the caller listens (or injects). */
export async function buildRunsApp(
  options: RunsAppOptions & { bodyLimitBytes: number },
  serverOptions: FastifyServerOptions = {},
) {
  const app = Fastify({
    bodyLimit: options.bodyLimitBytes,
    ...requestIdOptions,
    ...serverOptions,
  }).withTypeProvider<TypeBoxTypeProvider>();
  await app.register(runsApp, options);
  return app;
}
