import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { newUlid } from '@screengraph/shared';
import { freePort } from '@screengraph/testing';
import { Pool } from 'undici';

export const WORKER = 'bench-worker';

const hierarchy = `<hierarchy rotation="0">${'<node class="android.widget.TextView" resource-id="com.example:id/t" bounds="[0,0][10,10]"/>'.repeat(10)}</hierarchy>`;
/** A realistic ~1 KB `screen.observed` payload. */
export const eventData = {
  activity: '.bench.MainActivity',
  hierarchyXml: hierarchy.slice(0, 930),
  width: 1080,
  height: 2400,
};
export const eventBytes = JSON.stringify({ type: 'screen.observed', data: eventData }).length;

// Bodies are spliced from a pre-serialized event, so the load generator spends its CPU on
// sending, not on JSON.stringify: on 2 cores it shares the machine with what it measures.
const eventTail = `,"type":"screen.observed","data":${JSON.stringify(eventData)}}`;

/** An append body of `size` events with fresh ids; the ids, in order, for tracking. */
export function batchBody(size: number): { body: string; eventIds: string[] } {
  const eventIds = Array.from({ length: size }, () => newUlid());
  const events = eventIds.map((id) => `{"eventId":"${id}"${eventTail}`).join(',');
  return { body: `{"workerId":"${WORKER}","events":[${events}]}`, eventIds };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

/** A compiled ScreenGraph service in a child process, with an HTTP pool to it. */
export class ServiceProcess {
  protected constructor(
    private readonly child: ChildProcess,
    readonly http: Pool,
    readonly url: string,
  ) {}

  /**
   * Starts `services/<service>/dist/server.js` with `env` on a free port (BENCH_NODE_ARGS adds node
   * flags, e.g. --cpu-prof) and waits until it is live.
   */
  protected static async spawn(service: 'runs' | 'graph', env: Record<string, string>) {
    const port = await freePort();
    const server = fileURLToPath(new URL(`../services/${service}/dist/server.js`, import.meta.url));
    const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const child = spawn(process.execPath, [...nodeArgs, server], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env, [`${service.toUpperCase()}_PORT`]: String(port) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const url = `http://127.0.0.1:${port}`;
    const http = new Pool(url, { connections: 64, pipelining: 1 });
    for (let i = 0; i < 100; i++) {
      const live = await http.request({ method: 'GET', path: '/health/live' }).then(
        async (res) => {
          await res.body.dump();
          return res.statusCode === 200;
        },
        () => false,
      );
      if (live) return { child, http, url };
      await sleep(100);
    }
    child.kill('SIGKILL');
    await http.close();
    throw new Error(`the ${service} service did not start`);
  }

  /** Peak resident memory of the service process so far (VmHWM), in MiB. */
  peakRssMiB(): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  }

  async json(method: 'GET' | 'POST', path: string, body?: unknown) {
    const res = await this.http.request({
      method,
      path,
      headers: { 'content-type': 'application/json' },
      body: body === undefined || typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
    return text === '' ? undefined : JSON.parse(text);
  }

  async stop(): Promise<void> {
    await this.http.close();
    if (this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      await once(this.child, 'exit');
    }
  }
}

/** The compiled graph service. */
export class GraphService extends ServiceProcess {
  static async start(env: Record<string, string>): Promise<GraphService> {
    const { child, http, url } = await ServiceProcess.spawn('graph', env);
    return new GraphService(child, http, url);
  }
}

/** The compiled runs service, with the runs a benchmark drives. */
export class RunsService extends ServiceProcess {
  static async start(env: Record<string, string>): Promise<RunsService> {
    const { child, http, url } = await ServiceProcess.spawn('runs', env);
    return new RunsService(child, http, url);
  }

  /** `count` runs, each created and claimed by the bench worker. */
  async runningRuns(count: number, appOf = (i: number) => `com.example.bench${i}`): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const { runId } = await this.json('POST', '/runs', { appPackage: appOf(i) });
      await this.json('POST', '/runs/claim', { workerId: WORKER, appPackage: appOf(i) });
      ids.push(runId);
    }
    return ids;
  }

  /** Appends batches of `batch` events to `runs` in parallel for `seconds`; events/s. */
  async batchedIngest(runs: string[], batch: number, seconds: number): Promise<number> {
    const deadline = performance.now() + seconds * 1000;
    const started = performance.now();
    let events = 0;
    await Promise.all(
      runs.map(async (runId) => {
        while (performance.now() < deadline) {
          await this.json('POST', `/runs/${runId}/events`, batchBody(batch).body);
          events += batch;
        }
      }),
    );
    return events / ((performance.now() - started) / 1000);
  }
}
