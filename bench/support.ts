import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { newUlid } from '@screengraph/shared';
import { freePort, TEST_POSTGRES_URL, uniqueDatabase, withClient } from '@screengraph/testing';
import pg from 'pg';
import { Pool } from 'undici';

export const WORKER = 'bench-worker';

/**
 * A benchmark's start: with `--help`, prints what it measures (the file's leading comment) and
 * exits; else builds the services it starts (`pnpm build`), unless BENCH_SERVICES names another
 * build to run.
 */
export function startBenchmark(file: string): void {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    const text = readFileSync(fileURLToPath(file), 'utf8');
    const doc = /^\/\*\*([\s\S]*?)\*\//.exec(text)?.[1] ?? '';
    console.log(
      doc
        .split('\n')
        .map((line) => line.replace(/^\s*\* ?/, ''))
        .join('\n')
        .trim(),
    );
    process.exit(0);
  }
  if (process.env.BENCH_SERVICES === undefined) {
    execFileSync('pnpm', ['build'], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: 'inherit' });
  }
}

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

/** The bare table raw single-row commits go to, as the reference for what a commit costs this machine. */
export const RAW_COMMIT_TABLE = `CREATE TABLE bench_raw_commit (run_id text, seq bigint, event_id text UNIQUE, type text,
  data jsonb, PRIMARY KEY (run_id, seq))`;
export const RAW_COMMIT_INSERT = 'INSERT INTO bench_raw_commit VALUES ($1, $2, $3, $4, $5)';

/** The parameters of `RAW_COMMIT_INSERT` for each connection's next row: its own run, the next seq, a ~1.1 KB event. */
export function rawCommitRows(connections: number): (connection: number) => unknown[] {
  const data = JSON.stringify(eventData);
  const seqs = Array.from({ length: connections }, () => 0);
  const runIds = Array.from({ length: connections }, () => newUlid());
  return (c) => [runIds[c], ++(seqs[c] as number), newUlid(), 'screen.observed', data];
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
    // BENCH_SERVICES: another build's services/ (a worktree of the previous code, to compare in one run).
    const services = process.env.BENCH_SERVICES ?? fileURLToPath(new URL('../services', import.meta.url));
    const server = `${services}/${service}/dist/server.js`;
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

  /** The service's process id. */
  get pid(): number {
    return this.child.pid ?? 0;
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

  /** Events of `runs` not yet published (the sum of their outbox lags). */
  async outboxLag(runs: string[]): Promise<number> {
    const lags = await Promise.all(
      runs.map(async (id) => (await this.json('GET', `/runs/${id}/outbox`)).lag as number),
    );
    return lags.reduce((a, b) => a + b, 0);
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

/** CPU seconds (user + system) a process has used so far; 0 when it is gone. */
function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line; after the command, at 11 and 12 (from 0).
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** The pids of the processes running a program (PostgreSQL's backends, nats-server). */
function pidsOf(program: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === program;
      } catch {
        return false;
      }
    });
}

/**
 * CPU used by the graph service, PostgreSQL (every backend, exited ones through their parent's
 * children time) and nats-server between `start()` and `stop()`.
 */
export class CpuMeter {
  private readonly before: Record<'service' | 'postgres' | 'nats', number>;

  constructor(private readonly servicePid: number) {
    this.before = this.read();
  }

  private read() {
    const sum = (pids: number[]) => pids.reduce((total, pid) => total + cpuSecondsOf(pid) + childrenCpuOf(pid), 0);
    return {
      service: cpuSecondsOf(this.servicePid),
      // The postmaster's children time counts backends that exited meanwhile.
      postgres: sum(pidsOf('postgres')),
      nats: sum(pidsOf('nats-server')),
    };
  }

  /** Milliseconds of CPU per event of each, since the meter was made. */
  perEvent(events: number): Record<'service' | 'postgres' | 'nats', number> {
    const now = this.read();
    const per = (key: 'service' | 'postgres' | 'nats') => ((now[key] - this.before[key]) * 1000) / events;
    return { service: per('service'), postgres: per('postgres'), nats: per('nats') };
  }
}

/** CPU seconds of a process's waited-for children (cutime + cstime). */
function childrenCpuOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/**
 * The machine's raw single-row commit rate: `connections` clients each inserting one row per
 * transaction (`run_id, seq, event_id unique, type, data jsonb`, ~1 KB) into a bare table of a
 * throwaway database, for `seconds`; commits/s. What every figure here can be read against.
 */
export async function rawSingleRowCommits(connections = 8, seconds = 3): Promise<number> {
  const database = uniqueDatabase('bench_raw_commits');
  await withClient(TEST_POSTGRES_URL, (admin) => admin.query(`CREATE DATABASE ${database.name}`));
  const pool = new pg.Pool({ connectionString: database.url, max: connections });
  try {
    await pool.query(`CREATE TABLE bench_raw_commit (run_id text, seq bigint, event_id text UNIQUE, type text,
      data jsonb, PRIMARY KEY (run_id, seq))`);
    await pool.query('CHECKPOINT');
    const deadline = performance.now() + seconds * 1000;
    const started = performance.now();
    let commits = 0;
    const data = JSON.stringify(eventData);
    await Promise.all(
      Array.from({ length: connections }, async (_, c) => {
        for (let seq = 1; performance.now() < deadline; seq++) {
          await pool.query('INSERT INTO bench_raw_commit VALUES ($1, $2, $3, $4, $5)', [
            `run-${c}`,
            seq,
            newUlid(),
            'screen.observed',
            data,
          ]);
          commits++;
        }
      }),
    );
    return commits / ((performance.now() - started) / 1000);
  } finally {
    await pool.end();
    await database.drop();
  }
}
