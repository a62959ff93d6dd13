import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { installErrorHandling, registerLiveness, typeboxValidatorCompiler } from '@screengraph/shared/http';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { RunsConfig } from './config.js';
import database from './plugins/database.js';
import idleReaper from './plugins/idle-reaper.js';
import runsRepository from './plugins/runs-repository.js';
import eventRoutes from './routes/events.js';
import runRoutes from './routes/runs.js';

export type RunsAppOptions = Pick<RunsConfig, 'databaseUrl' | 'databasePoolSize' | 'idleTimeoutMs'> & {
  /** How often idle runs are looked for; defaults to a quarter of the idle timeout, at most 30 s. */
  reaperIntervalMs?: number;
};

/** The runs service as a Fastify plugin: infrastructure, then the domain, then routes. It never listens. */
export const runsApp = fp(
  async (app: FastifyInstance, options: RunsAppOptions) => {
    app.setValidatorCompiler(typeboxValidatorCompiler);
    installErrorHandling(app);
    registerLiveness(app);

    await app.register(database, { databaseUrl: options.databaseUrl, poolSize: options.databasePoolSize });
    await app.register(runsRepository);
    await app.register(idleReaper, {
      idleTimeoutMs: options.idleTimeoutMs,
      intervalMs: options.reaperIntervalMs ?? Math.min(options.idleTimeoutMs / 4, 30_000),
    });

    await app.register(runRoutes);
    await app.register(eventRoutes);
  },
  { name: 'runs-app' },
);

/** Builds the runs service's Fastify instance with its server options; the caller listens (or injects). */
export async function buildRunsApp(
  options: RunsAppOptions & { bodyLimitBytes: number },
  serverOptions: FastifyServerOptions = {},
) {
  const app = Fastify({ bodyLimit: options.bodyLimitBytes, ...serverOptions }).withTypeProvider<TypeBoxTypeProvider>();
  await app.register(runsApp, options);
  return app;
}
