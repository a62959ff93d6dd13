import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
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

/** The compiled runs service in a child process, with an HTTP pool to it. */
export class RunsService {
  private constructor(
    private readonly child: ChildProcess,
    readonly http: Pool,
  ) {}

  /** Starts `services/runs/dist/server.js` with `env` (BENCH_NODE_ARGS adds node flags, e.g. --cpu-prof). */
  static async start(env: Record<string, string>): Promise<RunsService> {
    const port = await freePort();
    const server = fileURLToPath(new URL('../services/runs/dist/server.js', import.meta.url));
    const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const child = spawn(process.execPath, [...nodeArgs, server], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env, RUNS_PORT: String(port) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const service = new RunsService(child, new Pool(`http://127.0.0.1:${port}`, { connections: 64, pipelining: 1 }));
    for (let i = 0; i < 100; i++) {
      try {
        await service.json('GET', '/health/live');
        return service;
      } catch {
        await sleep(100);
      }
    }
    await service.stop();
    throw new Error('the runs service did not start');
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

  /** `count` runs, each created and claimed by the bench worker. */
  async runningRuns(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const { runId } = await this.json('POST', '/runs', { appPackage: `com.example.bench${i}` });
      await this.json('POST', '/runs/claim', { workerId: WORKER, appPackage: `com.example.bench${i}` });
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

  async stop(): Promise<void> {
    await this.http.close();
    if (this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      await once(this.child, 'exit');
    }
  }
}
