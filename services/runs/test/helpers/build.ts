import { randomBytes } from 'node:crypto';
import { deleteStream, uniqueDatabase } from '@screengraph/testing';
import { buildRunsApp, type RunsAppOptions } from '../../src/app.js';
import { loadRunsConfig } from '../../src/config.js';

interface TestContext {
  teardown(fn: () => unknown): void;
}

export type RunsTestApp = Awaited<ReturnType<typeof buildRunsApp>> & {
  databaseUrl: string;
  options: RunsAppOptions & { bodyLimitBytes: number };
};
export type TestOptions = Partial<RunsAppOptions & { bodyLimitBytes: number }>;

export const TEST_NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** A stream name and subject prefix of one test's own: JetStream refuses overlapping stream subjects. */
export function uniqueStream() {
  const suffix = randomBytes(4).toString('hex');
  return {
    eventsStream: `SGTEST_RUN_EVENTS_${suffix.toUpperCase()}`,
    eventsSubjectPrefix: `sgtest_${suffix}`,
    artifactsBucket: `sgtest_artifacts_${suffix}`,
  };
}

/** Options of a runs service on a database and stream of its own (defaults as in production). */
export function testOptions(
  databaseUrl: string,
  options: TestOptions = {},
): RunsAppOptions & { bodyLimitBytes: number } {
  return {
    ...loadRunsConfig({}),
    ...uniqueStream(),
    natsUrl: TEST_NATS_URL,
    databaseUrl,
    databasePoolSize: 25,
    bodyLimitBytes: 1024 * 1024,
    ...options,
  };
}

/** The runs service on a database and stream of its own; closed, and its database dropped, when the test ends. */
export async function build(t: TestContext, options: TestOptions = {}) {
  const database = uniqueDatabase('runs');
  const appOptions = testOptions(database.url, options);
  const app = await buildRunsApp(appOptions, { logger: process.env.TEST_LOG ? { level: 'debug' } : false });
  t.teardown(async () => {
    await app.close();
    await database.drop();
    await deleteStream(appOptions.natsUrl, appOptions.eventsStream);
    // An Object Store bucket is the stream OBJ_<bucket>.
    await deleteStream(appOptions.natsUrl, `OBJ_${appOptions.artifactsBucket}`);
  });
  return Object.assign(app, { databaseUrl: database.url, options: appOptions }) as RunsTestApp;
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
