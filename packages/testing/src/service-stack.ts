import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { childEnv } from './child-env.js';
import { deleteStream } from './nats.js';
import { freePort } from './ports.js';
import { type TestDatabase, uniqueDatabase } from './test-database.js';

export type ServiceName = 'runs' | 'graph';

export interface ServiceStackOptions {
  natsUrl?: string;
  /** SCREENGRAPH_API_TOKEN of both services. */
  token?: string;
  /** More environment for a service (its own variables win over the stack's). */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
}

interface TestContext {
  teardown(fn: () => unknown): void;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Both services as the processes a user runs (their sources through tsx), each on a database of
 * its own, sharing a stream, consumer and artifact bucket named for this stack alone: suites above
 * the services (client, CLI, faults) test what ships, and can kill and restart a service.
 */
export class ServiceStack {
  readonly runsUrl: string;
  readonly graphUrl: string;
  readonly eventsStream: string;
  /** Running processes by `service#instance`. */
  private readonly children = new Map<string, ChildProcess>();
  /** The port of each instance but the first, once started. */
  private readonly ports = new Map<string, string>();
  /** What each service printed (warnings and errors; all instances), for a failing test to show. */
  readonly output: Record<ServiceName, string> = { runs: '', graph: '' };

  private constructor(
    private readonly env: Record<ServiceName, Record<string, string>>,
    readonly runsDatabase: TestDatabase,
    readonly graphDatabase: TestDatabase,
    readonly artifactsBucket: string,
    private readonly natsUrl: string,
  ) {
    this.runsUrl = `http://127.0.0.1:${env.runs.RUNS_PORT}`;
    this.graphUrl = `http://127.0.0.1:${env.graph.GRAPH_PORT}`;
    this.eventsStream = env.runs.RUN_EVENTS_STREAM ?? '';
  }

  static async start(t: TestContext, options: ServiceStackOptions = {}): Promise<ServiceStack> {
    const natsUrl = options.natsUrl ?? process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
    const suffix = randomBytes(4).toString('hex');
    const runsDatabase = uniqueDatabase('stack_runs');
    const graphDatabase = uniqueDatabase('stack_graph');
    const artifactsBucket = `sgtest_stack_artifacts_${suffix}`;
    const shared = {
      NATS_URL: natsUrl,
      RUN_EVENTS_STREAM: `SGTEST_STACK_EVENTS_${suffix.toUpperCase()}`,
      RUN_EVENTS_SUBJECT_PREFIX: `sgtest_stack_${suffix}`,
      RUNS_ARTIFACTS_BUCKET: artifactsBucket,
      LOG_LEVEL: 'warn',
      ...(options.token === undefined ? {} : { SCREENGRAPH_API_TOKEN: options.token }),
    };
    const runsPort = String(await freePort());
    const env = {
      runs: { ...shared, RUNS_DATABASE_URL: runsDatabase.url, RUNS_PORT: runsPort, ...options.env?.runs },
      graph: {
        ...shared,
        GRAPH_DATABASE_URL: graphDatabase.url,
        GRAPH_PORT: String(await freePort()),
        GRAPH_CONSUMER: `sgtest-stack-${suffix}`,
        RUNS_URL: `http://127.0.0.1:${runsPort}`,
        ...options.env?.graph,
      },
    };
    const stack = new ServiceStack(env, runsDatabase, graphDatabase, artifactsBucket, natsUrl);
    t.teardown(() => stack.stop());
    // The runs service first: it makes the stream the graph service consumes.
    await stack.startService('runs');
    await stack.startService('graph');
    return stack;
  }

  /** The URL of an instance of a service (instance 0 is `runsUrl` / `graphUrl`). */
  async url(service: ServiceName, instance = 0): Promise<string> {
    return `http://127.0.0.1:${await this.port(service, instance)}`;
  }

  private async port(service: ServiceName, instance: number): Promise<string> {
    const portVariable = service === 'runs' ? 'RUNS_PORT' : 'GRAPH_PORT';
    if (instance === 0) return this.env[service][portVariable] as string;
    const key = `${service}#${instance}`;
    const known = this.ports.get(key) ?? String(await freePort());
    this.ports.set(key, known);
    return known;
  }

  /**
   * Starts an instance of a service (again) and waits until it is live. Instances share the
   * stack's databases, stream, consumer and bucket, as replicas of a deployment do.
   */
  async startService(service: ServiceName, instance = 0): Promise<void> {
    const key = `${service}#${instance}`;
    if (this.children.has(key)) throw new Error(`${key} is already running`);
    const portVariable = service === 'runs' ? 'RUNS_PORT' : 'GRAPH_PORT';
    const env = { ...this.env[service], [portVariable]: await this.port(service, instance) };
    const child = spawn(
      process.execPath,
      ['--conditions=@screengraph/source', '--import', 'tsx', `services/${service}/src/server.ts`],
      { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => {
      this.output[service] = (this.output[service] + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.children.set(key, child);
    child.once('exit', () => this.children.delete(key));
    const url = await this.url(service, instance);
    for (let i = 0; i < 600; i++) {
      if (child.exitCode !== null) break;
      const live = await fetch(`${url}/health/live`).then(
        (response) => response.ok,
        () => false,
      );
      if (live) return;
      await sleep(100);
    }
    throw new Error(`${key} did not start:\n${this.output[service]}`);
  }

  /** Stops an instance with a signal (SIGKILL: a crash) and waits for its exit code. */
  async stopService(service: ServiceName, signal: NodeJS.Signals = 'SIGTERM', instance = 0): Promise<number | null> {
    const child = this.children.get(`${service}#${instance}`);
    if (!child) return null;
    const exited = once(child, 'exit') as Promise<[number | null]>;
    child.kill(signal);
    const [code] = await exited;
    return code;
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.children.values()].map(async (child) => {
        if (child.exitCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }),
    );
    await this.graphDatabase.drop();
    await this.runsDatabase.drop();
    // A test may have stopped its own broker for good: then there is nothing left to delete.
    await deleteStream(this.natsUrl, this.eventsStream).catch(() => undefined);
    await deleteStream(this.natsUrl, `OBJ_${this.artifactsBucket}`).catch(() => undefined);
  }
}
