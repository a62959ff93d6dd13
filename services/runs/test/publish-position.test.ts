import t from 'tap';
import { anchor, settle } from '../src/outbox/publish-position.js';

t.test('a batch starts after whatever the run’s subject already holds', async (t) => {
  const cursor = { seq: 5, streamSeq: 30 };
  t.same(anchor(cursor, { runSeq: 5, streamSeq: 30 }), { seq: 5, streamSeq: 30 }, 'where the cursor says');
  t.same(
    anchor(cursor, { runSeq: 9, streamSeq: 44 }),
    { seq: 9, streamSeq: 44 },
    'ahead: a relay died before moving the cursor',
  );
  t.same(
    anchor(cursor, { runSeq: 3, streamSeq: 12 }),
    { seq: 5, streamSeq: 12 },
    'behind: newer messages were dropped',
  );
  t.same(anchor(cursor, null), { seq: 5, streamSeq: 0 }, 'empty subject: the stream was recreated or aged out');
  t.same(anchor({ seq: 0, streamSeq: 0 }, null), { seq: 0, streamSeq: 0 }, 'a new run');
});

const ok = (value: number): PromiseSettledResult<number> => ({ status: 'fulfilled', value });
const failed = (reason: string): PromiseSettledResult<number> => ({ status: 'rejected', reason: new Error(reason) });

t.test('a pipelined batch moves the cursor over its acknowledged prefix only', async (t) => {
  const start = { seq: 2, streamSeq: 10 };
  t.same(settle(start, [3, 4, 5], [ok(11), ok(14), ok(15)]), {
    reached: { seq: 5, streamSeq: 15 },
    failure: undefined,
    misplaced: [],
  });
  const timeout = settle(start, [3, 4, 5], [ok(11), failed('timeout'), failed('timeout')]);
  t.same(timeout.reached, { seq: 3, streamSeq: 11 });
  t.match(timeout.failure, { message: 'timeout' });
  t.same(timeout.misplaced, []);
  const hole = settle(start, [3, 4, 5], [ok(11), failed('lost'), ok(16)]);
  t.same(hole.reached, { seq: 3, streamSeq: 11 });
  t.same(hole.misplaced, [], 'acknowledged after a failure: in place if the failed one is stored, seen at its retry');
  const mismatch = settle(start, [3, 4], [failed('wrong last sequence'), failed('x')]);
  t.same(mismatch.reached, start, 'nothing moves when the first publish is refused');
  const backwards = settle(start, [3, 4], [ok(11), ok(11)]);
  t.same(backwards.reached, { seq: 3, streamSeq: 11 });
  t.match(backwards.failure, { message: /went back/ });
});

t.test('copies acknowledged below their predecessor are out of place, and so is every copy after them', async (t) => {
  // A retry after a broker lost seq 3 mid-batch and stored 4 and 5 (at 12 and 13): 3 is stored
  // now at 20, and 4 and 5 are acknowledged as repeats where they stand, before it.
  const start = { seq: 2, streamSeq: 10 };
  const retry = settle(start, [3, 4, 5, 6], [ok(20), ok(12), ok(13), ok(21)]);
  t.same(retry.reached, { seq: 3, streamSeq: 20 });
  t.match(retry.failure, { message: 'stream sequence went back at seq 4' });
  t.same(
    retry.misplaced,
    [
      { seq: 4, streamSeq: 12 },
      { seq: 5, streamSeq: 13 },
      { seq: 6, streamSeq: 21 },
    ],
    '6 stands after 3, but before 4 and 5 are stored again',
  );
  const afterFailure = settle(start, [3, 4, 5, 6], [ok(11), failed('lost'), ok(15), ok(14)]);
  t.same(afterFailure.misplaced, [{ seq: 6, streamSeq: 14 }], 'below an earlier copy after a failure: out of place');
  const first = settle(start, [3, 4], [ok(9), ok(22)]);
  t.same(first.reached, start);
  t.same(
    first.misplaced,
    [
      { seq: 3, streamSeq: 9 },
      { seq: 4, streamSeq: 22 },
    ],
    'the first copy below the start',
  );
});
