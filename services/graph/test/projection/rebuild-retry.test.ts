import pg from 'pg';
import t from 'tap';
import type { RunsClient } from '../../src/projection/inputs/runs-client.js';
import type { Projector } from '../../src/projection/projector.js';
import { rebuild } from '../../src/projection/rebuild.js';

const deadlock = () => Object.assign(new pg.DatabaseError('deadlock detected', 0, 'error'), { code: '40P01' });

t.test('a rebuild tries again what a concurrent live write made fail, and gives up on anything else', async (t) => {
  const calls: string[] = [];
  let drops = 0;
  let catchUps = 0;
  const projector = {
    drop: async () => {
      calls.push('drop');
      if (drops++ === 0) throw deadlock();
    },
    catchUp: async (runId: string) => {
      calls.push(`catchUp ${runId}`);
      if (catchUps++ === 0) throw deadlock();
      return 3;
    },
  } as unknown as Projector;
  const runs = {
    allRuns: async () => [{ runId: 'r1', appPackage: 'a.b', lastSeq: 3, status: 'completed' }],
  } as unknown as RunsClient;
  const result = await rebuild(projector, runs);
  t.match(result, { appPackage: null, runs: 1, events: 3 });
  t.same(calls, ['drop', 'drop', 'catchUp r1', 'catchUp r1'], 'each tried again once');

  const broken = { ...projector, drop: async () => Promise.reject(new TypeError('a bug')) } as unknown as Projector;
  await t.rejects(rebuild(broken, runs), TypeError, 'a bug is not retried');
});
