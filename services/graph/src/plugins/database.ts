import fastifyPostgres from '@fastify/postgres';
import { survivePoolErrors } from '@screengraph/shared/postgres';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { migrateGraphDatabase } from '../migrations.js';

export interface DatabaseOptions {
  databaseUrl: string;
  poolSize: number;
}

/** The graph database: created if missing and migrated before the pool opens, so a failed migration fails the start. */
export default fp(
  async (app: FastifyInstance, options: DatabaseOptions) => {
    const applied = await migrateGraphDatabase(options.databaseUrl);
    if (applied.length > 0) app.log.info({ applied }, 'graph database migrated');
    await app.register(fastifyPostgres, { connectionString: options.databaseUrl, max: options.poolSize });
    survivePoolErrors(app.pg.pool, app.log, 'graph');
  },
  { name: 'graph-database' },
);
