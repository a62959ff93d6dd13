import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';

// `docker compose config` cannot run here (no Docker engine): this checks instead that the
// compose file, the Dockerfile, .env.example, .ci/run and the README say the same things.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');

const readme = read('README.md');
const envExample = read('.env.example');
const compose = read('docker-compose.yml');
const dockerfile = read('Dockerfile');
const ci = read('.ci/run');

/** Variables each service's configuration reads (`read.<kind>('NAME', ...)`). */
const configured = (service: string) =>
  new Set(
    [...read(`services/${service}/src/config.ts`).matchAll(/read\.\w+\('([A-Z_]+)'/g)].map((m) => m[1] as string),
  );
const runsVariables = configured('runs');
const graphVariables = configured('graph');
const allVariables = new Set([...runsVariables, ...graphVariables]);

t.test('every variable a service reads is in .env.example and in the README, and nothing else is', async (t) => {
  const inEnvExample = new Set([...envExample.matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1] as string));
  t.same(
    [...allVariables].filter((name) => !inEnvExample.has(name)),
    [],
    'missing from .env.example',
  );
  t.same(
    [...inEnvExample].filter((name) => !allVariables.has(name)),
    [],
    'in .env.example but read by no service',
  );
  const configTable = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## API (runs service'));
  t.same(
    [...allVariables].filter((name) => !configTable.includes(`\`${name}\``)),
    [],
    'missing from the README',
  );
});

t.test('the compose file sets only variables the services read, and publishes their default ports', async (t) => {
  /** The lines of one compose service: from `  <name>:` to the next top-level key. */
  const section = (name: string) => {
    const lines = compose.split('\n');
    const start = lines.indexOf(`  ${name}:`);
    const end = lines.findIndex((line, i) => i > start && /^ {0,2}[a-z-]+:/.test(line));
    return lines.slice(start, end === -1 ? undefined : end).join('\n');
  };
  for (const [name, service, variables, published, port] of [
    ['runs', 'runs', runsVariables, '3001', '3001'],
    ['graph', 'graph', graphVariables, '3002', '3002'],
    ['runs-cluster', 'runs', runsVariables, '3011', '3001'],
    ['graph-cluster', 'graph', graphVariables, '3012', '3002'],
  ] as const) {
    const text = section(name);
    const set = [...text.matchAll(/^ {6}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1] as string);
    t.ok(set.length > 0, `${name}: has an environment`);
    t.same(
      set.filter((variable) => !variables.has(variable)),
      [],
      `${name}: sets only what it reads`,
    );
    t.match(text, new RegExp(`ports: \\["${published}:${port}"\\]`), `${name}: publishes ${published}`);
    t.match(readme, new RegExp(`${service} :${published}`), `the README names ${service} on ${published}`);
    t.match(text, new RegExp(`SERVICE: ${service}`), `${name}: built from the Dockerfile for it`);
  }
});

t.test('the Dockerfile, .ci/run and the README run the same commands', async (t) => {
  t.match(readme, /pnpm install && pnpm test/, 'the README test command');
  t.match(ci, /^pnpm install && pnpm test$/m, '.ci/run runs it');
  t.match(dockerfile, /RUN pnpm install --frozen-lockfile/);
  t.match(dockerfile, /RUN pnpm build/);
  t.match(dockerfile, /CMD \["pnpm", "test"\]/, 'the test image runs the suite');
  t.match(dockerfile, /USER node/, 'services run as a non-root user');
  for (const service of ['runs', 'graph']) {
    const pkg = JSON.parse(read(`services/${service}/package.json`)) as { scripts: Record<string, string> };
    t.equal(pkg.scripts.start, 'node dist/server.js', `${service}: pnpm start runs what the image runs`);
  }
  t.match(dockerfile, /CMD \["node", "dist\/server.js"\]/);
  t.match(compose, /profiles: \["test"\]/, 'the test service only runs when asked');
});

t.test('the Dockerfile copies every workspace package manifest before installing', async (t) => {
  const manifests = ['packages', 'services'].flatMap((dir) =>
    readdirSync(`${root}${dir}`)
      .map((name) => `${dir}/${name}/package.json`)
      .filter((path) => existsSync(`${root}${path}`)),
  );
  t.ok(manifests.length >= 6);
  for (const manifest of manifests) {
    t.match(dockerfile, new RegExp(`COPY ${manifest} ${manifest.replace('package.json', '')}\n`), manifest);
  }
});
