import { RunStatus } from '@screengraph/shared';
import t from 'tap';
import { type AppendInput, type IncomingEvent, planAppend } from '../src/runs/plan-append.js';

const RUN = '01JDQ8Z4V4R3W5X6Y7Z8A9B0CD';
const OTHER_RUN = '01JDQ8Z4V4R3W5X6Y7Z8A9B0CE';
const event = (eventId: string): IncomingEvent => ({
  eventId,
  type: 'screen.observed',
  occurredAt: new Date(0),
  data: {},
  requestId: null,
});

const given = (overrides: Partial<AppendInput>): AppendInput => ({
  runId: RUN,
  run: { status: RunStatus.running, workerId: 'w1', lastSeq: 3 },
  workerId: 'w1',
  expectedSeq: undefined,
  events: [event('A'), event('B')],
  stored: [],
  ...overrides,
});

t.test('new events get the seqs after the run’s head', async (t) => {
  t.same(planAppend(given({})), {
    kind: 'append',
    firstSeq: 4,
    insert: [event('A'), event('B')],
    events: [
      { eventId: 'A', seq: 4 },
      { eventId: 'B', seq: 5 },
    ],
  });
});

t.test('a full retry returns the stored seqs, even after the run ended', async (t) => {
  const stored = [
    { eventId: 'A', runId: RUN, seq: 2 },
    { eventId: 'B', runId: RUN, seq: 3 },
  ];
  const run = { status: RunStatus.completed, workerId: 'w1', lastSeq: 4 };
  t.same(planAppend(given({ stored, run, expectedSeq: 1 })), {
    kind: 'replay',
    events: [
      { eventId: 'A', seq: 2 },
      { eventId: 'B', seq: 3 },
    ],
  });
});

t.test('a partial retry stores only the new events and keeps the old seqs', async (t) => {
  const plan = planAppend(given({ stored: [{ eventId: 'A', runId: RUN, seq: 3 }], events: [event('A'), event('B')] }));
  t.same(plan, {
    kind: 'append',
    firstSeq: 4,
    insert: [event('B')],
    events: [
      { eventId: 'A', seq: 3 },
      { eventId: 'B', seq: 4 },
    ],
  });
});

t.test('expectedSeq must be the head, unless the stored part of a retry is exactly what followed it', async (t) => {
  t.match(planAppend(given({ expectedSeq: 3 })), { kind: 'append' });
  t.same(planAppend(given({ expectedSeq: 2 })), { kind: 'rejected', reason: 'seq_conflict', currentSeq: 3 });
  t.match(planAppend(given({ expectedSeq: 2, stored: [{ eventId: 'A', runId: RUN, seq: 3 }] })), { kind: 'append' });
  t.same(planAppend(given({ expectedSeq: 1, stored: [{ eventId: 'A', runId: RUN, seq: 3 }] })), {
    kind: 'rejected',
    reason: 'seq_conflict',
    currentSeq: 3,
  });
});

t.test('an event id used by another run is a conflict', async (t) => {
  t.same(planAppend(given({ stored: [{ eventId: 'B', runId: OTHER_RUN, seq: 9 }] })), {
    kind: 'rejected',
    reason: 'event_id_conflict',
    eventId: 'B',
  });
});

t.test('new events need a running run held by the appending worker', async (t) => {
  t.same(planAppend(given({ workerId: 'w2' })), { kind: 'rejected', reason: 'worker_mismatch' });
  t.same(planAppend(given({ run: { status: RunStatus.failed, workerId: 'w1', lastSeq: 3 } })), {
    kind: 'rejected',
    reason: 'not_running',
  });
});
