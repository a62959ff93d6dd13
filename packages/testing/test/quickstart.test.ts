import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { childEnv } from '../src/child-env.js';
import { deleteStream } from '../src/nats.js';
import { freePort } from '../src/ports.js';
import { uniqueDatabase } from '../src/test-database.js';

// The README's quick start without Docker, run literally in a fresh clone of this repository:
// `pnpm install`, `pnpm start`, then the command line against the running services. Only the
// environment differs from a newcomer's: databases, ports, stream and bucket of its own.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const hasPnpm = (() => {
  try {
    execFileSync('pnpm', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const skip = !existsSync(join(root, '.git'))
  ? 'not a git checkout: nothing to clone'
  : !hasPnpm
    ? 'pnpm is not on PATH'
    : false;

const run = (command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) => resolve({ code, output }));
  });

t.test('the README quick start works in a fresh clone', { skip, timeout: 600_000 }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'sg-quickstart-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const clone = join(work, 'screengraph');
  execFileSync('git', ['clone', '--quiet', root, clone]);

  const suffix = randomBytes(4).toString('hex');
  const runsDatabase = uniqueDatabase('quickstart_runs');
  const graphDatabase = uniqueDatabase('quickstart_graph');
  const stream = `SGTEST_QUICKSTART_${suffix.toUpperCase()}`;
  const bucket = `sgtest_quickstart_${suffix}`;
  const [runsPort, graphPort] = [await freePort(), await freePort()];
  const env = childEnv({
    RUNS_DATABASE_URL: runsDatabase.url,
    GRAPH_DATABASE_URL: graphDatabase.url,
    RUNS_PORT: String(runsPort),
    GRAPH_PORT: String(graphPort),
    RUNS_URL: `http://127.0.0.1:${runsPort}`,
    GRAPH_URL: `http://127.0.0.1:${graphPort}`,
    RUN_EVENTS_STREAM: stream,
    RUN_EVENTS_SUBJECT_PREFIX: `sgtest_quickstart_${suffix}`,
    RUNS_ARTIFACTS_BUCKET: bucket,
    GRAPH_CONSUMER: `sgtest-quickstart-${suffix}`,
    LOG_LEVEL: 'warn',
  });
  const natsUrl = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

  const install = await run('pnpm', ['install'], clone, env);
  t.equal(install.code, 0, 'pnpm install', { output: install.output.slice(-3000) });

  // Its own process group, so the services pnpm starts stop with it.
  let started: ChildProcess | undefined;
  let startOutput = '';
  t.teardown(async () => {
    if (started?.pid && started.exitCode === null) {
      const exited = new Promise((resolve) => started?.once('exit', resolve));
      process.kill(-started.pid, 'SIGTERM');
      await exited;
    }
    await runsDatabase.drop();
    await graphDatabase.drop();
    await deleteStream(natsUrl, stream);
    await deleteStream(natsUrl, `OBJ_${bucket}`);
  });
  started = spawn('pnpm', ['start'], { cwd: clone, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  started.stdout?.on('data', (chunk: Buffer) => {
    startOutput = (startOutput + chunk.toString()).slice(-5000);
  });
  started.stderr?.on('data', (chunk: Buffer) => {
    startOutput = (startOutput + chunk.toString()).slice(-5000);
  });
  const ready = async (port: number) =>
    fetch(`http://127.0.0.1:${port}/health/ready`).then(
      (response) => response.ok,
      () => false,
    );
  let up = false;
  for (let i = 0; i < 600 && !up && started.exitCode === null; i++) {
    up = (await ready(runsPort)) && (await ready(graphPort));
    if (!up) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  t.ok(up, 'pnpm start: both services ready', { output: startOutput });
  if (!up) return;

  const simulate = await run(
    'pnpm',
    ['screengraph', 'simulate', '--app', 'com.example.quickstart', '--steps', '40', '--json'],
    clone,
    env,
  );
  t.equal(simulate.code, 0, 'pnpm screengraph simulate', { output: simulate.output.slice(-3000) });
  const coverage = await run('pnpm', ['screengraph', 'graph', 'coverage', 'com.example.quickstart'], clone, env);
  t.equal(coverage.code, 0);
  t.match(coverage.output, /screens +\d+/, 'the graph answers');
  const page = await fetch(`http://127.0.0.1:${graphPort}/console/`);
  t.equal(page.status, 200, 'the web console is built and served');
  t.match(await page.text(), /<title>ScreenGraph<\/title>/);

  // The README's commands that need the build `pnpm start` made.
  for (const service of ['runs', 'graph']) {
    const migrate = await run('pnpm', ['--filter', `@screengraph/${service}`, 'migrate'], clone, env);
    t.equal(migrate.code, 0, `pnpm --filter @screengraph/${service} migrate`, { output: migrate.output.slice(-2000) });
  }
  const rebuild = await run('node', ['dist/rebuild-cli.js'], join(clone, 'services', 'graph'), env);
  t.equal(rebuild.code, 0, 'node dist/rebuild-cli.js, as in the graph service’s image', { output: rebuild.output });
  t.match(rebuild.output, /rebuilt every app: 1 runs, \d+ events/);
});
