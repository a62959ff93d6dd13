import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { buildRunsApp, type RunsAppOptions } from '@screengraph/runs';
import { loadRunsConfig } from '@screengraph/runs/config';
import { allRunEventsSubjects, unpartitionedEventsSubjects } from '@screengraph/shared';
import { deleteStream, graphRows, type Query, uniqueDatabase, withClient, withNats } from '@screengraph/testing';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import pg from 'pg';
import { buildGraphApp, type GraphAppOptions } from '../../src/app.js';
import { loadGraphConfig } from '../../src/config.js';
import { migrateGraphDatabase } from '../../src/migrations.js';

interface TestContext {
  teardown(fn: () => unknown): void;
}

export const TEST_NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const logger = process.env.TEST_LOG ? { level: 'debug' as const } : false;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Stack {
  runs: FastifyInstance;
  graph: FastifyInstance;
  runsUrl: string;
  runsOptions: RunsAppOptions & { bodyLimitBytes: number };
  graphOptions: GraphAppOptions;
  /** Waits until each run's events are projected up to its head. */
  projected(runIds: string[], timeoutMs?: number): Promise<void>;
  /** Runs a query on the graph database. */
  graphQuery<T = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<T[]>;
}

/**
 * Both services, each on a database of its own, sharing a stream of their own and a consumer name
 * of their own: the runs service listens on a free port, the graph service fills gaps from it.
 */
export async function startStack(
  t: TestContext,
  options: {
    runs?: Partial<RunsAppOptions>;
    graph?: Partial<GraphAppOptions>;
    graphServer?: FastifyServerOptions;
  } = {},
): Promise<Stack> {
  const suffix = randomBytes(4).toString('hex');
  const eventsStream = `SGTEST_GRAPH_EVENTS_${suffix.toUpperCase()}`;
  const eventsSubjectPrefix = `sgtest_graph_${suffix}`;
  const runsDatabase = uniqueDatabase('graph_runs');
  const graphDatabase = uniqueDatabase('graph');

  const runsOptions = {
    ...loadRunsConfig({}),
    databaseUrl: runsDatabase.url,
    databasePoolSize: 10,
    natsUrl: TEST_NATS_URL,
    eventsStream,
    eventsSubjectPrefix,
    artifactsBucket: `sgtest_graph_artifacts_${suffix}`,
    relayConcurrency: 4,
    bodyLimitBytes: 8 * 1024 * 1024,
    ...options.runs,
  };
  const runs = await buildRunsApp(runsOptions, { logger });
  t.teardown(async () => {
    await runs.close();
    await runsDatabase.drop();
    await deleteStream(TEST_NATS_URL, eventsStream);
    await deleteStream(TEST_NATS_URL, `OBJ_sgtest_graph_artifacts_${suffix}`);
  });
  const runsUrl = await runs.listen({ host: '127.0.0.1', port: 0 });
  // With its relay off the runs service makes no stream: the test publishes itself.
  if (runsOptions.relayConcurrency === 0) {
    await withNats(TEST_NATS_URL, async (nc) => {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({
        name: eventsStream,
        subjects: [allRunEventsSubjects(eventsSubjectPrefix), unpartitionedEventsSubjects(eventsSubjectPrefix)],
      });
    });
  }

  const graphOptions: GraphAppOptions = {
    ...loadGraphConfig({}),
    databaseUrl: graphDatabase.url,
    databasePoolSize: 10,
    natsUrl: TEST_NATS_URL,
    eventsStream,
    eventsSubjectPrefix,
    consumerName: `sgtest-projection-${suffix}`,
    projectionConcurrency: 4,
    projectionAckWaitMs: 5000,
    runsUrl,
    artifactsBucket: `sgtest_graph_artifacts_${suffix}`,
    ...options.graph,
  };
  const graph = await buildGraphApp(graphOptions, { logger, ...options.graphServer });
  t.teardown(async () => {
    await graph.close();
    await graphDatabase.drop();
  });

  const graphQuery = <T>(sql: string, values: unknown[] = []) =>
    withClient(graphDatabase.url, async (db) => (await db.query(sql, values)).rows as T[]);

  return {
    runs,
    graph,
    runsUrl,
    runsOptions,
    graphOptions,
    graphQuery,
    async projected(runIds, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const states = await Promise.all(
          runIds.map(async (id) => (await graph.inject(`/runs/${id}/projection`)).json()),
        );
        if (states.every((state) => state.lag === 0)) return;
        if (Date.now() > deadline) throw new Error(`not projected in time: ${JSON.stringify(states)}`);
        await sleep(50);
      }
    },
  };
}

/** An agent scripted over HTTP: creates and claims a run, observes and acts, completes it. */
export class ScriptedAgent {
  readonly runId: string;

  private constructor(
    private readonly runs: FastifyInstance,
    runId: string,
    private readonly workerId: string,
  ) {
    this.runId = runId;
  }

  static async start(runs: FastifyInstance, appPackage: string, workerId = 'agent-1'): Promise<ScriptedAgent> {
    const created = await runs.inject({ method: 'POST', url: '/runs', payload: { appPackage } });
    const { runId } = created.json() as { runId: string };
    const claimed = await runs.inject({ method: 'POST', url: '/runs/claim', payload: { workerId, appPackage } });
    if (claimed.json().runId !== runId) throw new Error(`claim failed: ${claimed.body}`);
    return new ScriptedAgent(runs, runId, workerId);
  }

  async append(...events: { type: string; data: Record<string, unknown> }[]): Promise<void> {
    const response = await this.runs.inject({
      method: 'POST',
      url: `/runs/${this.runId}/events`,
      payload: { workerId: this.workerId, events },
    });
    if (response.statusCode !== 201) throw new Error(`append failed: ${response.body}`);
  }

  observe(hierarchyXml: string, activity: string) {
    return this.append({ type: 'screen.observed', data: { hierarchyXml, activity } });
  }

  perform(data: Record<string, unknown>) {
    return this.append({ type: 'action.performed', data });
  }

  async complete(): Promise<void> {
    const response = await this.runs.inject({
      method: 'POST',
      url: `/runs/${this.runId}/complete`,
      payload: { workerId: this.workerId },
    });
    if (response.statusCode !== 200) throw new Error(`complete failed: ${response.body}`);
  }
}

export type { Query };

/** Every row the projection wrote, but for the clocks of the projection itself. */
export function snapshot(stack: { graphQuery: Query }) {
  return graphRows(stack.graphQuery);
}

/** A migrated graph database of the test's own with a pool on it, for a Projector used directly. */
export async function graphDatabase(t: TestContext, name: string) {
  const database = uniqueDatabase(name);
  await migrateGraphDatabase(database.url);
  const pool = new pg.Pool({ connectionString: database.url, max: 3 });
  t.teardown(async () => {
    await pool.end();
    await database.drop();
  });
  const graphQuery: Query = async (sql, values) => (await pool.query(sql, values)).rows;
  return { pool, graphQuery };
}
