import t from 'tap';
import { backoffDelay } from '../src/backoff.js';

t.test('backoff: exponential from the first pause, capped, spread by jitter', async (t) => {
  const policy = { initialMs: 100, maxMs: 1000 };
  const at = (random: number) => (attempt: number) => backoffDelay(attempt, policy, () => random);
  t.same(
    [0, 1, 2, 3, 4, 10].map(at(0.999_999)).map(Math.round),
    [100, 200, 400, 800, 1000, 1000],
    'the most each step waits',
  );
  t.same([0, 1, 2, 3, 4].map(at(0)), [50, 100, 200, 400, 500], 'equal jitter: never under half of it');
  t.equal(
    backoffDelay(3, { ...policy, jitter: 'full' }, () => 0),
    0,
    'full jitter: anywhere from nothing',
  );
  t.equal(
    backoffDelay(3, { ...policy, jitter: 'full' }, () => 0.5),
    400,
  );
  t.equal(backoffDelay(1_000, policy, () => 0.999_999) <= 1000, true, 'no overflow however many attempts');
});
