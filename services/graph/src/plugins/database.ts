import fastifyPostgres from '@fastify/postgres';
import { survivePoolErrors } from '@screengraph/shared/postgres';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import pg from 'pg';
import { migrateGraphDatabase } from '../migrations.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Where the read endpoints read: a hot standby when one is configured, else the primary's
     * pool. The projection, rebuilds and change announcements always use the primary (`app.pg`).
     */
    readPool: pg.Pool;
    /** Whether `readPool` is a standby's (its reads may lag the primary by its replay lag). */
    readsFromStandby: boolean;
  }
}

export interface DatabaseOptions {
  databaseUrl: string;
  readDatabaseUrl?: string | null;
  poolSize: number;
}

/**
 * The graph database: created if missing and migrated before the pool opens, so a failed migration
 * fails the start; and the standby the read endpoints read from, when there is one.
 */
export default fp(
  async (app: FastifyInstance, options: DatabaseOptions) => {
    const applied = await migrateGraphDatabase(options.databaseUrl);
    if (applied.length > 0) app.log.info({ applied }, 'graph database migrated');
    await app.register(fastifyPostgres, { connectionString: options.databaseUrl, max: options.poolSize });
    survivePoolErrors(app.pg.pool, app.log, 'graph');
    if (options.readDatabaseUrl) {
      const readPool = new pg.Pool({ connectionString: options.readDatabaseUrl, max: options.poolSize });
      survivePoolErrors(readPool, app.log, 'graph reads');
      app.decorate('readPool', readPool);
      app.decorate('readsFromStandby', true);
      app.addHook('onClose', () => readPool.end());
    } else {
      app.decorate('readPool', app.pg.pool);
      app.decorate('readsFromStandby', false);
    }
  },
  { name: 'graph-database' },
);
