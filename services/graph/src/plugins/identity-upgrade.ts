import { backoffDelay } from '@screengraph/shared';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { IDENTITY_VERSION } from '../identity/layout-hash.js';
import { rebuildApp } from '../projection/rebuild.js';
import { isTransient } from '../projection/transient.js';

export interface IdentityUpgradeOptions {
  /** Whether this instance writes the graph (it projects); a read-only instance leaves it to others. */
  enabled: boolean;
}

/**
 * Brings graphs made by an older version of the screen identity rules to the current one: once
 * the service is up, each app with screens of an older version is rebuilt from the event log, in
 * one transaction each (queries answer from the old rows until it commits; an instance that
 * gets there first holds the app's rebuild lock, the other waits and finds nothing left to do).
 * While the runs service is away it tries again later; stopping the service rolls an unfinished
 * app back, and the next start takes it up.
 */
export default fp(
  async (app: FastifyInstance, options: IdentityUpgradeOptions) => {
    if (!options.enabled) return;
    const stop = new AbortController();
    let upgrading: Promise<void> = Promise.resolve();

    const pause = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        stop.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });

    const olderApps = async () =>
      (
        await app.pg.query<{ app_package: string }>(
          'SELECT DISTINCT app_package FROM screens WHERE identity_version < $1 ORDER BY app_package',
          [IDENTITY_VERSION],
        )
      ).rows.map((row) => row.app_package);

    async function upgrade(): Promise<void> {
      for (let attempt = 0; !stop.signal.aborted; attempt++) {
        try {
          for (const appPackage of await olderApps()) {
            const started = performance.now();
            const done = await rebuildApp(app.pg.pool, app.runsClient, appPackage, {
              log: app.log,
              artifacts: app.artifactBytes,
              signal: stop.signal,
            });
            app.log.info(
              { appPackage, identityVersion: IDENTITY_VERSION, ...done, ms: Math.round(performance.now() - started) },
              'graph rebuilt to the current screen identity',
            );
          }
          return;
        } catch (error) {
          if (stop.signal.aborted) return;
          if (!isTransient(error)) {
            app.log.error({ err: error }, 'the graph could not be rebuilt to the current screen identity');
            return;
          }
          if (attempt === 0) app.log.warn({ err: error }, 'graph rebuild to the current screen identity waits');
          await pause(backoffDelay(attempt, { initialMs: 1000, maxMs: 30_000 }));
        }
      }
    }

    app.addHook('onReady', async () => {
      upgrading = upgrade();
    });
    app.addHook('preClose', async () => {
      stop.abort();
      await upgrading;
    });
  },
  { name: 'identity-upgrade', dependencies: ['graph-database', 'projection'] },
);
