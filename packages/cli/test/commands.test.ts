import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScreenGraphClient } from '@screengraph/client';
import { childEnv, freePort, ServiceStack } from '@screengraph/testing';
import t from 'tap';
import { ExitCode } from '../src/cli.js';
import { runCli } from './helpers/run-cli.js';

const APP = 'com.example.commands';

t.test('runs and graph commands, for people and for scripts', async (t) => {
  const stack = await ServiceStack.start(t);
  const simulated = await runCli(stack, 'simulate', '--app', APP, '--steps', '60', '--seed', '3', '--json');
  t.equal(simulated.code, 0, simulated.stderr);
  const { runId } = simulated.json<{ runId: string }>();

  const list = await runCli(stack, 'runs', 'list');
  t.equal(list.code, 0);
  t.match(list.stdout, /^RUN +STATUS +APP +WORKER +EVENTS +CREATED +DURATION/, 'a table with a header');
  t.match(list.stdout, new RegExp(`${runId} +completed +${APP.replace(/\./g, '\\.')} +screengraph-cli +124`));
  const listed = await runCli(stack, 'runs', 'list', '--app', APP, '--status', 'completed', '--json');
  t.same(
    listed.json<{ runs: { runId: string }[] }>().runs.map((r) => r.runId),
    [runId],
  );
  t.match((await runCli(stack, 'runs', 'list', '--status', 'queued')).stdout, /^no runs/);

  const show = await runCli(stack, 'runs', 'show', runId);
  t.match(show.stdout, /status +completed/);
  t.match(show.stdout, /published +seq 124 \(lag 0\)/);
  t.match(show.stdout, /projected +seq 124 \(lag 0\)/);
  t.match((await runCli(stack, 'runs', 'show', runId, '--json')).json(), { run: { runId }, outbox: { lag: 0 } });

  const watched = await runCli(stack, 'runs', 'watch', runId, '--after-seq', '120');
  t.equal(watched.code, ExitCode.ok, 'a completed run: exit 0');
  t.match(watched.stdout.trim().split('\n'), [
    /121 .*screen\.observed .*Activity/,
    /122 .*action\.performed/,
    /123 .*screen\.observed/,
    /124 .*run\.completed/,
  ]);
  const ndjson = await runCli(stack, 'runs', 'watch', runId, '--after-seq', '122', '--json');
  t.same(
    ndjson.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).seq),
    [123, 124],
    'NDJSON envelopes',
  );

  // A run that is live while it is watched, and ends failed.
  const client = new ScreenGraphClient({ runsUrl: stack.runsUrl, graphUrl: stack.graphUrl });
  const live = await client.runs.createRun(APP);
  await client.runs.claimRun(live.runId, 'live-agent');
  const watching = runCli(stack, 'runs', 'watch', live.runId);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await client.runs.append(live.runId, 'live-agent', [{ type: 'action.performed', data: { actionType: 'back' } }]);
  await client.runs.fail(live.runId, 'live-agent', 'device lost');
  const failed = await watching;
  t.equal(failed.code, ExitCode.runNotCompleted, 'a failed run: exit 7');
  t.match(failed.stdout, /3 .*action\.performed .*back/);
  t.match(failed.stdout, /run\.failed +device lost/);

  const apps = await runCli(stack, 'graph', 'apps');
  t.match(apps.stdout, new RegExp(`${APP.replace(/\./g, '\\.')} +\\d+ +\\d+ +\\d+ +2`));
  const coverage = await runCli(stack, 'graph', 'coverage', APP, '--json');
  const screens = coverage.json<{ screens: number }>().screens;
  t.ok(screens > 3);
  t.match((await runCli(stack, 'graph', 'coverage', APP)).stdout, /explored, \d+\.\d %/);

  const graph = await client.graph.graph(APP);
  const login = graph.screens.find((s) => s.activity === '.auth.LoginActivity');
  const target = graph.edges.find((e) => e.fromScreenId === login?.screenId && e.toScreenId !== login?.screenId);
  if (!login || !target) throw new Error(`no way out of login: ${JSON.stringify(graph.edges)}`);
  const path = await runCli(stack, 'graph', 'path', APP, login.screenId, target.toScreenId);
  t.equal(path.code, 0, path.stderr);
  t.match(path.stdout, new RegExp(`^1\\. on ${login.screenId}: tap .* -> ${target.toScreenId}`));
  const pathJson = await runCli(stack, 'graph', 'path', APP, login.screenId, target.toScreenId, '--json');
  t.equal(pathJson.json<{ steps: unknown[] }>().steps.length, 1);
  const nowhere = graph.screens.find((s) => !graph.edges.some((e) => e.toScreenId === s.screenId));
  if (nowhere && nowhere.screenId !== login.screenId) {
    const none = await runCli(stack, 'graph', 'path', APP, login.screenId, nowhere.screenId);
    t.equal(none.code, ExitCode.notFound, 'no path: exit 3');
  }
  const same = await runCli(stack, 'graph', 'path', APP, login.screenId, login.screenId);
  t.match(same.stdout, /already there/);

  const frontier = await runCli(stack, 'graph', 'frontier', APP, '--from', login.screenId, '--limit', '5');
  t.match(frontier.stdout, /^DISTANCE +SCREEN +ACTION +TARGET/);
  t.ok(frontier.stdout.trim().split('\n').length <= 6, 'at most 5 rows');
  const all = await runCli(stack, 'graph', 'frontier', APP, '--json');
  t.ok(all.json<{ actions: unknown[] }>().actions.length > 0);

  const dot = await runCli(stack, 'graph', 'export', APP);
  t.match(dot.stdout, /^digraph/, 'DOT by default, on stdout');
  const scratch = await mkdtemp(join(tmpdir(), 'sg-export-'));
  t.teardown(() => rm(scratch, { recursive: true, force: true }));
  const file = join(scratch, 'graph.graphml');
  const written = await runCli(stack, 'graph', 'export', APP, '--format', 'graphml', '--out', file);
  t.equal(written.code, 0);
  t.match(await readFile(file, 'utf8'), /<graphml/);
  t.match(written.stderr, /wrote .*graph\.graphml/);
});

t.test('bad arguments, unknown things and unreachable services give their exit codes', async (t) => {
  const stack = await ServiceStack.start(t);
  const cases: [string[], number, RegExp][] = [
    [[], ExitCode.usage, /^Usage: screengraph/],
    [['--help'], ExitCode.ok, /^Usage: screengraph/],
    [['frobnicate'], ExitCode.usage, /unknown command: frobnicate/],
    [['runs', 'list', '--bogus'], ExitCode.usage, /Unknown option '--bogus'/],
    [['runs', 'list', '--status', 'sleeping'], ExitCode.usage, /--status must be one of/],
    [['runs', 'list', '--limit', '0'], ExitCode.usage, /--limit must be a positive integer/],
    [['runs', 'show'], ExitCode.usage, /usage: screengraph runs show <runId>/],
    [['simulate', '--app', APP], ExitCode.usage, /needs --app and --steps/],
    [['simulate', '--app', 'not a package', '--steps', '3'], ExitCode.usage, /--app must be an Android package/],
    [['graph', 'export', APP, '--format', 'png'], ExitCode.usage, /--format must be one of/],
    [['runs', 'show', '01JDQ8Z4V4R3W5X6Y7Z8A9B0CD'], ExitCode.notFound, /Run 01JDQ8Z4V4R3W5X6Y7Z8A9B0CD not found/],
    [['runs', 'show', 'nope'], ExitCode.invalidInput, /SG_VALIDATION_FAILED/],
    [['graph', 'coverage', 'com.example.unknown'], ExitCode.notFound, /App com\.example\.unknown has no screen graph/],
  ];
  for (const [argv, code, message] of cases) {
    const result = await runCli(stack, ...argv);
    t.equal(result.code, code, `${argv.join(' ') || '(nothing)'}: exit ${code}`);
    t.match(result.stdout + result.stderr, message);
  }
  const json = await runCli(stack, 'runs', 'show', '01JDQ8Z4V4R3W5X6Y7Z8A9B0CD', '--json');
  t.match(JSON.parse(json.stderr), { exitCode: 3, error: /not found/ }, 'errors as JSON with --json');

  const port = await freePort();
  const unreachable = await runCli(null, 'runs', 'list', '--runs-url', `http://127.0.0.1:${port}`);
  t.equal(unreachable.code, ExitCode.unavailable, 'a service that does not answer: exit 5');
  t.match(unreachable.stderr, /unreachable after 5 attempt\(s\).*ECONNREFUSED/);
});

t.test('the screengraph bin: a process whose exit code is the command’s', async (t) => {
  const stack = await ServiceStack.start(t);
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const bin = async (...argv: string[]) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@screengraph/source', '--import', 'tsx', 'packages/cli/src/main.ts', ...argv],
      {
        cwd: root,
        env: childEnv({ RUNS_URL: stack.runsUrl, GRAPH_URL: stack.graphUrl }),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const [code] = (await once(child, 'exit')) as [number];
    return { code, stdout };
  };
  const simulated = await bin('simulate', '--app', APP, '--steps', '10', '--json');
  t.equal(simulated.code, 0);
  t.match(JSON.parse(simulated.stdout), { appPackage: APP, graph: { runs: 1 } });
  t.equal((await bin('runs', 'show', '01JDQ8Z4V4R3W5X6Y7Z8A9B0CD')).code, ExitCode.notFound);
});
