import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { childEnv } from '../src/child-env.js';
import { freePort } from '../src/ports.js';
import { ServiceStack } from '../src/service-stack.js';
import { sharedDataDir } from '../src/shared-data.js';

// Every command the README shows, and what runs it: this test runs most of them literally (the
// command line's examples against services of its own, each benchmark's --help, the console's
// dev server); the others are run by the test named, by CI, or cannot run here. A command added
// to the README without a line here fails the test, and so does a line here the README lost.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

type How = { here: 'cli' | 'help' | 'dev-console' } | { elsewhere: string };

const COMMANDS: Record<string, How> = {
  'docker compose up': {
    elsewhere:
      'not here: no Docker engine (deployment-files.test.ts checks the compose file does what the README says)',
  },
  'docker compose --profile cluster up': {
    elsewhere:
      'not here: no Docker engine (services/runs/test/compose-cluster.test.ts runs its three nats-server commands on loopback ports, both services on them)',
  },
  'docker compose run --rm test': {
    elsewhere: 'not here: no Docker engine (the Dockerfile test stage runs `pnpm test`)',
  },
  'bash .ci/run': { elsewhere: 'CI runs it, from a fresh clone' },
  'pnpm install && pnpm test': { elsewhere: 'CI (.ci/run)' },
  'pnpm install': { elsewhere: 'quickstart.test.ts, in a fresh clone' },
  'pnpm test': { elsewhere: 'CI (.ci/run)' },
  'pnpm typecheck': { elsewhere: 'part of pnpm test' },
  'pnpm test:faults': { elsewhere: 'part of pnpm test' },
  'pnpm start': { elsewhere: 'quickstart.test.ts, in a fresh clone' },
  'pnpm build': { elsewhere: 'quickstart.test.ts (pnpm start builds first)' },
  'pnpm --filter @screengraph/runs migrate': { elsewhere: 'quickstart.test.ts, in the built clone' },
  'pnpm --filter @screengraph/graph migrate': { elsewhere: 'quickstart.test.ts, in the built clone' },
  'node dist/rebuild-cli.js': { elsewhere: 'quickstart.test.ts, in the built clone’s services/graph' },
  'pnpm graph:rebuild': { elsewhere: 'services/graph/test/projection/end-to-end.test.ts' },
  'pnpm graph:rebuild [--app <package>]': { elsewhere: 'services/graph/test/projection/end-to-end.test.ts' },
  'pnpm screengraph': { elsewhere: 'the command line, as the lines below run it' },
  'pnpm screengraph <command>': { elsewhere: 'the command line, as the lines below run it' },
  'pnpm screengraph simulate': { elsewhere: 'quickstart.test.ts' },
  'pnpm screengraph mcp': { elsewhere: 'packages/mcp/test/mcp.test.ts (the README’s mcpServers entry)' },
  'dot -Tsvg': { here: 'cli' },
  'pip install ./clients/python': {
    elsewhere: 'clients/python/scripts/test, into its virtual environment (with the dev extra), as part of pnpm test',
  },
  'bash clients/python/scripts/test': { elsewhere: 'part of pnpm test (pnpm test:python)' },
  'pnpm test:python': { elsewhere: 'part of pnpm test' },
  'pnpm dev:console': { here: 'dev-console' },
  'pnpm screengraph import droidbot ../shared/data/droidbot/com.yelp.android': { here: 'cli' },
  'pnpm screengraph simulate --app com.example.shop --steps 500 --seed 7': { here: 'cli' },
  'pnpm screengraph simulate --app com.example.shop --steps 200 --guided': { here: 'cli' },
  'pnpm screengraph runs list --app com.example.shop': { here: 'cli' },
  'pnpm screengraph runs watch <runId>': { here: 'cli' },
  'pnpm screengraph graph export com.example.shop --format dot | dot -Tsvg > graph.svg': { here: 'cli' },
  'pnpm screengraph graph path com.example.shop <fromScreenId> <toScreenId>': { here: 'cli' },
  'pnpm screengraph graph frontier com.example.shop --from <screenId>': { here: 'cli' },
};
for (const bench of [
  'ingest',
  'append-ab',
  'relay',
  'projection',
  'queries',
  'artifacts',
  'exploration',
  'system',
  'leader-loss',
  'console-layout',
]) {
  COMMANDS[`pnpm bench:${bench}`] = { here: 'help' };
}

/** The commands the README shows: the lines of its sh blocks and the inline ones. */
function readmeCommands(): Set<string> {
  const found = new Set<string>();
  for (const [, block = ''] of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block.split('\n')) {
      const command = line.split(/\s{2,}#/)[0]?.trim();
      if (command) found.add(command);
    }
  }
  for (const [, command = ''] of readme.matchAll(/`((?:pnpm|bash|docker|node|dot|pip) [^`]*)`/g)) found.add(command);
  return found;
}

const sh = (command: string, env: NodeJS.ProcessEnv, cwd = root) =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn('bash', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) => resolve({ code, output }));
  });

t.test('every command the README shows is run: here, or by the test named', async (t) => {
  const found = readmeCommands();
  t.same([...found].filter((command) => !(command in COMMANDS)).sort(), [], 'a README command this test does not know');
  t.same(
    Object.keys(COMMANDS)
      .filter((command) => !found.has(command))
      .sort(),
    [],
    'a command the README no longer shows',
  );
});

t.test('the command line examples, literally, against services of their own', async (t) => {
  const stack = await ServiceStack.start(t);
  const work = await mkdtemp(join(tmpdir(), 'sg-readme-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const env = childEnv({ RUNS_URL: stack.runsUrl, GRAPH_URL: stack.graphUrl });
  const lines = Object.entries(COMMANDS).filter(
    ([command, how]) => 'here' in how && how.here === 'cli' && command.startsWith('pnpm'),
  );
  const ids: Record<string, string> = {};
  for (const [command] of lines) {
    if (command.includes('../shared/data') && !sharedDataDir()) {
      t.comment(`no ../shared/data: skipped ${command}`);
      continue;
    }
    // The placeholders, from what the runs before made.
    if (command.includes('<')) {
      const runs = await fetch(`${stack.runsUrl}/runs?appPackage=com.example.shop&status=completed`).then((r) =>
        r.json(),
      );
      ids.runId = (runs as { runs: { runId: string }[] }).runs[0]?.runId ?? '';
      const { entryScreenId } = (await fetch(`${stack.graphUrl}/apps/com.example.shop/summary`).then((r) =>
        r.json(),
      )) as { entryScreenId: string };
      const frontier = (await fetch(
        `${stack.graphUrl}/apps/com.example.shop/frontier?from=${entryScreenId}&limit=100`,
      ).then((r) => r.json())) as { actions: { screenId: string }[] };
      ids.screenId = entryScreenId;
      ids.fromScreenId = entryScreenId;
      // A screen the entry screen leads to: the farthest one with something left to explore.
      ids.toScreenId = frontier.actions.at(-1)?.screenId ?? entryScreenId;
    }
    const literal = command.replace(/<(\w+)>/g, (_m, name: string) => ids[name] ?? '');
    const result = await sh(literal.replace('> graph.svg', `> ${join(work, 'graph.svg')}`), env);
    t.equal(result.code, 0, command, { output: result.output.slice(-2000) });
  }
  t.ok(existsSync(join(work, 'graph.svg')), 'the export rendered by Graphviz');
});

t.test('each benchmark’s --help says what it measures, without building or starting anything', async (t) => {
  for (const [command] of Object.entries(COMMANDS).filter(([, how]) => 'here' in how && how.here === 'help')) {
    const result = await sh(`${command} --help`, childEnv());
    t.equal(result.code, 0, `${command} --help`, { output: result.output.slice(-2000) });
    t.match(
      result.output,
      new RegExp(`\`${command.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\``),
      `${command}: names itself`,
    );
  }
});

t.test('pnpm dev:console serves the console from its sources', async (t) => {
  const port = await freePort();
  const child = spawn('bash', ['-c', 'exec pnpm dev:console'], {
    cwd: root,
    env: childEnv({ CONSOLE_DEV_PORT: String(port) }),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
  });
  let page: Response | undefined;
  for (let i = 0; i < 100 && !page?.ok; i++) {
    page = await fetch(`http://127.0.0.1:${port}/console/`).catch(() => undefined);
    if (!page?.ok) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  t.equal(page?.status, 200);
  t.match(await page?.text(), /<title>ScreenGraph<\/title>/);
});
