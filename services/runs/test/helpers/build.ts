import { uniqueDatabase } from '@screengraph/testing';
import { buildRunsApp, type RunsAppOptions } from '../../src/app.js';

interface TestContext {
  teardown(fn: () => unknown): void;
}

export type RunsTestApp = Awaited<ReturnType<typeof buildRunsApp>> & { databaseUrl: string };

/** The runs service on a database of its own, closed and dropped when the test ends. */
export async function build(t: TestContext, options: Partial<RunsAppOptions & { bodyLimitBytes: number }> = {}) {
  const database = uniqueDatabase('runs');
  const app = await buildRunsApp(
    {
      databaseUrl: database.url,
      databasePoolSize: 25,
      idleTimeoutMs: 10 * 60_000,
      bodyLimitBytes: 1024 * 1024,
      ...options,
    },
    { logger: process.env.TEST_LOG ? { level: 'debug' } : false },
  );
  t.teardown(async () => {
    await app.close();
    await database.drop();
  });
  return Object.assign(app, { databaseUrl: database.url }) as RunsTestApp;
}

export const WORKER = 'worker-1';

/** Creates a run and claims it for `workerId`: a run ready for agent events. */
export async function runningRun(app: RunsTestApp, workerId = WORKER, appPackage = 'com.example.app') {
  const created = await app.inject({ method: 'POST', url: '/runs', payload: { appPackage } });
  const run = created.json() as { runId: string };
  const claimed = await app.inject({ method: 'POST', url: '/runs/claim', payload: { workerId, appPackage } });
  if (claimed.statusCode !== 200 || claimed.json().runId !== run.runId)
    throw new Error(`claim failed: ${claimed.body}`);
  return run.runId;
}

export function screen(activity = '.MainActivity') {
  return { type: 'screen.observed', data: { activity } };
}

export function tap(resourceId = 'com.example.app:id/ok') {
  return { type: 'action.performed', data: { actionType: 'tap', target: { resourceId, bounds: [0, 0, 100, 100] } } };
}
