import t from 'tap';
import { reconcile } from '../src/outbox/reconcile.js';

t.test('when the subject is ahead of the cursor, the relay skips what the stream already holds', async (t) => {
  t.same(reconcile({ streamSeq: 40, runSeq: 7 }, 5), { kind: 'skip', publishedSeq: 7, streamSeq: 40 });
  t.same(reconcile({ streamSeq: 40, runSeq: 5 }, 5), { kind: 'skip', publishedSeq: 5, streamSeq: 40 });
});

t.test('when the subject is behind or empty, the relay publishes again from its real head', async (t) => {
  t.same(reconcile({ streamSeq: 12, runSeq: 3 }, 5), { kind: 'retry', expectedStreamSeq: 12 });
  t.same(reconcile(null, 5), { kind: 'retry', expectedStreamSeq: 0 });
});
