import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { childEnv, deleteStream, freePort, TestNatsServer, uniqueDatabase, withClient } from '@screengraph/testing';
import t from 'tap';
import { loadRunsConfig } from '../src/config.js';
import { build, runningRun, screen, TEST_NATS_URL, tap, uniqueStream, WORKER } from './helpers/build.js';

const TOKEN = 'a-token-long-enough-0123456789';

t.test('with an API token, every endpoint but health needs it', async (t) => {
  const app = await build(t, { relayConcurrency: 0, apiToken: TOKEN });
  const denied = await app.inject('/runs');
  t.equal(denied.statusCode, 401);
  t.match(denied.json(), { code: 'SG_UNAUTHORIZED' });
  t.equal(denied.headers['www-authenticate'], 'Bearer');
  for (const authorization of [`Bearer ${TOKEN}x`, TOKEN, `Basic ${TOKEN}`, 'Bearer ']) {
    t.equal((await app.inject({ url: '/runs', headers: { authorization } })).statusCode, 401, authorization);
  }
  const created = await app.inject({
    method: 'POST',
    url: '/runs',
    headers: { authorization: `Bearer ${TOKEN}` },
    payload: { appPackage: 'com.example.app' },
  });
  t.equal(created.statusCode, 201);
  t.equal((await app.inject('/health/live')).statusCode, 200);
  t.equal((await app.inject('/health/ready')).statusCode, 200);
  t.equal((await app.inject(`/runs/${created.json().runId}/events/stream`)).statusCode, 401, 'live streams too');
});

t.test('without a token, nothing asks for one; a short token does not start', async (t) => {
  const app = await build(t, { relayConcurrency: 0 });
  t.equal((await app.inject('/runs')).statusCode, 200);
  t.throws(() => loadRunsConfig({ SCREENGRAPH_API_TOKEN: 'short' }), {
    name: 'ConfigError',
    message: 'SCREENGRAPH_API_TOKEN: must be at least 16 characters',
  });
});

t.test(
  'readiness follows the broker: 503 while NATS is down, 200 again when it is back',
  { skip: TestNatsServer.available() ? false : 'no nats-server binary (NATS_SERVER_BIN)' },
  async (t) => {
    const broker = await TestNatsServer.start();
    t.teardown(() => broker.destroy());
    const app = await build(t, { relayConcurrency: 0, natsUrl: broker.url });
    await app.nats.connected();
    t.same((await app.inject('/health/ready')).json(), { status: 'ok', checks: { database: 'ok', nats: 'ok' } });
    await broker.kill();
    const down = await app.inject('/health/ready');
    t.equal(down.statusCode, 503);
    t.match(down.json(), { status: 'unavailable', checks: { database: 'ok', nats: /./ } });
    t.not(down.json().checks.nats, 'ok');
    t.equal((await app.inject('/health/live')).statusCode, 200, 'alive all the same');
    await broker.resume();
    const deadline = Date.now() + 15_000;
    let ready = await app.inject('/health/ready');
    while (ready.statusCode !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      ready = await app.inject('/health/ready');
    }
    t.equal(ready.statusCode, 200);
  },
);

t.test('/metrics: HTTP latency by route, events appended, relay backlog and lag, artifact bytes', async (t) => {
  const app = await build(t, { relayConcurrency: 0 });
  const runId = await runningRun(app);
  await app.inject({
    method: 'POST',
    url: `/runs/${runId}/events`,
    payload: { workerId: WORKER, events: [screen(), tap(), screen()] },
  });
  await app.inject({
    method: 'POST',
    url: `/runs/${runId}/artifacts?kind=log`,
    headers: { 'content-type': 'text/plain' },
    payload: 'twelve bytes',
  });
  const response = await app.inject('/metrics');
  t.equal(response.statusCode, 200);
  t.match(response.headers['content-type'], /text\/plain/);
  const text = response.body;
  t.match(text, /screengraph_events_appended_total\{type="screen.observed"\} 2/);
  t.match(text, /screengraph_events_appended_total\{type="action.performed"\} 1/);
  t.match(
    text,
    /http_request_duration_seconds_count\{method="POST",route="\/runs\/:runId\/events",status_code="201"\} 1/,
  );
  // The relay is off: the whole log waits (created, started and three events).
  t.match(text, /screengraph_relay_backlog_events 5/);
  t.match(text, /screengraph_relay_lag_seconds \d/);
  t.match(text, /screengraph_artifact_bytes_stored 12/);
  t.match(text, /screengraph_runs_process_resident_memory_bytes \d/);
});

/** A service's server.ts, run from source as a process of its own with `env`. */
function runServer(
  service: 'runs' | 'graph',
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@screengraph/source', '--import', 'tsx', `services/${service}/src/server.ts`],
      { cwd: root, env: childEnv(env), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

t.test('a bad configuration stops each service at boot with one line naming the variable', async (t) => {
  const runs = await runServer('runs', { RUNS_PORT: 'http' });
  t.equal(runs.code, 78);
  t.equal(runs.stderr.trim(), 'screengraph-runs: bad configuration: RUNS_PORT: "http" is not a whole number');
  const graph = await runServer('graph', { GRAPH_DATABASE_URL: 'mysql://db/graph' });
  t.equal(graph.code, 78);
  t.match(graph.stderr.trim(), /^screengraph-graph: bad configuration: GRAPH_DATABASE_URL: protocol must be one of/);
  t.notMatch(graph.stderr, /at .*\.ts:\d+/, 'no stack trace');
});

/** The runs service as a process of its own (through tsx), on a database and stream of its own, once live. */
async function spawnRunsService(t: { teardown(fn: () => unknown): void }, name: string) {
  const database = uniqueDatabase(name);
  const stream = uniqueStream();
  t.teardown(async () => {
    await database.drop();
    await deleteStream(TEST_NATS_URL, stream.eventsStream);
  });
  const port = await freePort();
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--conditions=@screengraph/source', '--import', 'tsx', 'services/runs/src/server.ts'],
    {
      cwd: root,
      env: childEnv({
        RUNS_DATABASE_URL: database.url,
        RUNS_PORT: String(port),
        NATS_URL: TEST_NATS_URL,
        RUN_EVENTS_STREAM: stream.eventsStream,
        RUN_EVENTS_SUBJECT_PREFIX: stream.eventsSubjectPrefix,
        LOG_LEVEL: 'warn',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  // Warnings and errors (pino on stdout, crashes on stderr) explain an unclean exit.
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  // Starting through tsx takes a while on a busy machine: up to 60 s.
  let live = false;
  for (let i = 0; i < 600 && !live && child.exitCode === null; i++) {
    live = await fetch(`${url}/health/live`).then(
      (r) => r.ok,
      () => false,
    );
    if (!live) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!live) throw new Error(`the runs service did not start:\n${output}`);
  return { url, port, child, exited, database, output: () => output };
}

t.test(
  'SIGTERM with a request in flight on a keep-alive connection: it is answered, then the process exits',
  async (t) => {
    const { port, child, exited, output } = await spawnRunsService(t, 'runs_sigterm_keepalive');
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
    });
    const closed = once(socket, 'close');
    const body = JSON.stringify({ appPackage: 'com.example.keepalive' });
    // The head and half the body before SIGTERM: the request is in flight when the close begins.
    socket.write(
      `POST /runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.write(body.slice(10));
    const code = await exited;
    t.equal(code, 0, 'a clean exit', { output: output() });
    t.ok(Date.now() - started < 8000, 'without waiting for the client to hang up');
    t.match(answer, /^HTTP\/1\.1 201 /, 'the request in flight was answered');
    await closed;
    t.pass('the server closed the kept-alive connection');
  },
);

t.test(
  'SIGTERM under load: in-flight appends finish, every acknowledged event is stored, seqs stay gapless',
  async (t) => {
    const { url, exited, output, child, database } = await spawnRunsService(t, 'runs_sigterm');
    const post = (path: string, body: unknown) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const runIds: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { runId } = (await (await post('/runs', { appPackage: `com.example.sigterm${i}` })).json()) as {
        runId: string;
      };
      await post('/runs/claim', { workerId: WORKER, appPackage: `com.example.sigterm${i}` });
      runIds.push(runId);
    }
    const acknowledged = new Map<string, number>(runIds.map((id) => [id, 2]));
    const agents = runIds.map(async (runId) => {
      for (;;) {
        const response = await post(`/runs/${runId}/events`, { workerId: WORKER, events: [screen(), tap()] }).catch(
          () => null,
        );
        if (!response?.ok) return;
        acknowledged.set(runId, ((await response.json()) as { lastSeq: number }).lastSeq);
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill('SIGTERM');
    await Promise.all(agents);
    t.equal(await exited, 0, 'a clean exit', { output: output() });

    await withClient(database.url, async (db) => {
      for (const runId of runIds) {
        const { rows } = await db.query('SELECT seq FROM run_events WHERE run_id = $1 ORDER BY seq', [runId]);
        const seqs = rows.map((row) => row.seq);
        t.same(
          seqs,
          seqs.map((_, i) => i + 1),
          `${runId}: gapless`,
        );
        t.ok(seqs.length >= (acknowledged.get(runId) ?? 0), `${runId}: every acknowledged event is stored`);
        t.equal(seqs.length % 2, 0, `${runId}: whole batches only`);
      }
    });
  },
);
