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
    stranded: [],
  });
  const timeout = settle(start, [3, 4, 5], [ok(11), failed('timeout'), failed('timeout')]);
  t.same(timeout.reached, { seq: 3, streamSeq: 11 });
  t.match(timeout.failure, { message: 'timeout' });
  t.same(timeout.stranded, []);
  const hole = settle(start, [3, 4, 5], [ok(11), failed('lost'), ok(16)]);
  t.same(hole.reached, { seq: 3, streamSeq: 11 });
  t.same(hole.stranded, [5], 'acknowledged after a failure: out of order, reported');
  const mismatch = settle(start, [3, 4], [failed('wrong last sequence'), failed('x')]);
  t.same(mismatch.reached, start, 'nothing moves when the first publish is refused');
  const backwards = settle(start, [3, 4], [ok(11), ok(11)]);
  t.same(backwards.reached, { seq: 3, streamSeq: 11 });
  t.match(backwards.failure, { message: /went back/ });
});
