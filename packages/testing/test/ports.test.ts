import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { freePort } from '../src/ports.js';

// The ports of the servers tests start as child processes: picked in one process, bound in
// another, so nothing else may get them in between (CI once saw a service fail on EADDRINUSE).
const ports = fileURLToPath(new URL('../src/ports.ts', import.meta.url));
const reservation = (port: number) => join(tmpdir(), 'screengraph-test-ports', String(port));
const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);

/** Ports picked by another process, which prints them and exits. */
async function pickedElsewhere(count: number, env: Record<string, string> = {}): Promise<number[]> {
  const script = `import { freePort } from ${JSON.stringify(ports)};
    const picked = [];
    for (let i = 0; i < ${count}; i++) picked.push(await freePort());
    console.log(JSON.stringify(picked));`;
  const args = ['--import', 'tsx', '--input-type=module', '-e', script];
  const { stdout } = await promisify(execFile)(process.execPath, args, { env: { ...process.env, ...env } });
  return JSON.parse(stdout);
}

t.test('ports are below the kernel ephemeral range, so no outgoing connection takes one', async (t) => {
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    t.ok(port >= 20_000 && port < (ephemeralLow ?? 32_768), `${port} is below ${ephemeralLow}`);
  }
});

t.test('two processes picking at once never get the same port', async (t) => {
  const mine = new Set<number>();
  const [theirs] = await Promise.all([
    pickedElsewhere(200),
    (async () => {
      for (let i = 0; i < 200; i++) mine.add(await freePort());
    })(),
  ]);
  t.equal(mine.size, 200, 'this process got 200 distinct ports');
  t.equal(new Set(theirs).size, 200, 'the other process got 200 distinct ports');
  t.same(
    theirs.filter((port) => mine.has(port)),
    [],
    'no port went to both',
  );
  t.ok(
    theirs.every((port) => !existsSync(reservation(port))),
    "the other process's reservations are gone with it",
  );
  t.ok(
    [...mine].every((port) => existsSync(reservation(port))),
    "this process's reservations last while it runs",
  );
});

t.test('a process that exits last leaves no reservation directory behind', async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), 'sg-ports-'));
  t.teardown(() => rm(tmp, { recursive: true, force: true }));
  const picked = await pickedElsewhere(5, { TMPDIR: tmp });
  t.equal(picked.length, 5);
  t.notOk(readdirSync(tmp).includes('screengraph-test-ports'), 'its reservations and their directory went with it');
});
