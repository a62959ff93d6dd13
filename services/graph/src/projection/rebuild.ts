import { backoffDelay } from '@screengraph/shared';
import { withTransaction } from '@screengraph/shared/postgres';
import type pg from 'pg';
import type { RunsClient } from './inputs/runs-client.js';
import { Projector, type ProjectorOptions } from './projector.js';
import { within } from './store/graph-db.js';
import { forgetNamelessRuns, forgetRuns } from './store/statements.js';
import { isTransient } from './transient.js';

/**
 * A live projection goes on during a rebuild: a deadlock between the rebuild and a live write, or
 * a dependency away for a moment, is tried again rather than failing the rebuild half way.
 */
async function retried<T>(work: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isTransient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, { initialMs: 100, maxMs: 3200 })));
    }
  }
}

export interface RebuildResult {
  appPackage: string | null;
  runs: number;
  events: number;
  durationMs: number;
  eventsPerSecond: number;
}

export interface RebuildOptions extends ProjectorOptions {
  /** The app to rebuild; every app without it. */
  appPackage?: string;
}

/** Runs whose logs are read ahead of the one being projected. */
const READ_AHEAD = 3;

/** A run's whole event log, read once started (in pages), for the rebuild to project when its turn comes. */
function readLog(projector: Projector, runId: string) {
  let reading: Promise<unknown[][]> | undefined;
  const start = () => {
    reading ??= (async () => {
      const pages: unknown[][] = [];
      for await (const page of projector.pagesOf(runId, 0)) pages.push(page);
      return pages;
    })();
    // A read that fails is reported when its run's turn comes.
    reading.catch(() => undefined);
    return reading;
  };
  return {
    runId,
    start,
    async *pages(): AsyncGenerator<unknown[]> {
      yield* await start();
    },
  };
}

/** Advisory lock of an app's rebuild ("SGRB" and the app), so two instances never rebuild one app at once. */
const REBUILD_LOCK = `SELECT pg_advisory_xact_lock(${0x5347_5242}, hashtext($1))`;

/**
 * Rebuilds one app's graph from the runs service's event log, in one transaction: its rows,
 * cursors and outcomes are deleted, every run of it (listed after the delete, so none projected
 * before is missed) is projected again, each log read in pages and projected in batches, and
 * the whole commits at once. Until then every reader (the queries, other instances) sees the
 * graph as it was. The merges do not depend on order, so the result is the live projection's,
 * row for row; live events of the app arriving meanwhile wait for the commit, then find their
 * run's cursor made again and take the careful way.
 */
export async function rebuildApp(
  pool: pg.Pool,
  runs: RunsClient,
  appPackage: string,
  options: ProjectorOptions & { signal?: AbortSignal },
): Promise<{ runs: number; events: number }> {
  return retried(() =>
    withTransaction(pool, async (client) => {
      await client.query(REBUILD_LOCK, [appPackage]);
      const projector = new Projector(within(client), runs, options);
      await projector.drop(appPackage);
      const all = await runs.allRuns(appPackage);
      // A run's cursor made by a message that named no app (poison) is not under the app's name.
      await client.query(forgetRuns(all.map((run) => run.runId)));
      // The next runs' logs are read while one is projected (the one connection projects them in turn).
      const logs = all.map((run) => readLog(projector, run.runId));
      let events = 0;
      for (const [i, log] of logs.entries()) {
        // Stopping the service rolls an unfinished rebuild back: the graph stays as it was.
        options.signal?.throwIfAborted();
        for (const ahead of logs.slice(i + 1, i + 1 + READ_AHEAD)) void ahead.start();
        events += await projector.catchUp(log.runId, () => log.pages());
      }
      return { runs: all.length, events };
    }),
  );
}

/**
 * Rebuilds an app's graph (every app's without one, each in a transaction of its own: the apps
 * of the runs service's runs, and those left in the graph whose runs are gone) from the event log.
 */
export async function rebuild(pool: pg.Pool, runs: RunsClient, options: RebuildOptions): Promise<RebuildResult> {
  const started = performance.now();
  const { appPackage } = options;
  let apps: string[];
  if (appPackage !== undefined) {
    apps = [appPackage];
  } else {
    // Listed before anything is dropped: with the runs service away, the graph stays as it is.
    const logged = (await runs.allRuns()).map((run) => run.appPackage);
    const { rows } = await pool.query<{ app_package: string }>(
      `SELECT app_package FROM screens UNION SELECT app_package FROM graph_projection_cursors`,
    );
    apps = [...new Set([...logged, ...rows.map((row) => row.app_package)])].filter(Boolean).sort();
  }
  let runCount = 0;
  let events = 0;
  for (const app of apps) {
    const done = await rebuildApp(pool, runs, app, options);
    runCount += done.runs;
    events += done.events;
  }
  // What no app is left to hold: outcomes and cursors of messages that named no app.
  if (appPackage === undefined) await pool.query(forgetNamelessRuns());
  const seconds = (performance.now() - started) / 1000;
  return {
    appPackage: appPackage ?? null,
    runs: runCount,
    events,
    durationMs: Math.round(seconds * 1000),
    eventsPerSecond: seconds === 0 ? 0 : Math.round(events / seconds),
  };
}
