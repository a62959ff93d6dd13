import { RunStatus } from '@screengraph/shared';
import t from 'tap';
import { appendRefusal, type Decision, decide, type RunCommand, type RunState } from '../src/runs/state-machine.js';

const queued: RunState = { status: RunStatus.queued, workerId: null };
const running: RunState = { status: RunStatus.running, workerId: 'w1' };
const completed: RunState = { status: RunStatus.completed, workerId: 'w1' };
const failed: RunState = { status: RunStatus.failed, workerId: 'w1' };
const cancelled: RunState = { status: RunStatus.cancelled, workerId: null };

const claim: RunCommand = { type: 'claim', workerId: 'w1' };
const complete: RunCommand = { type: 'complete', workerId: 'w1' };
const completeByOther: RunCommand = { type: 'complete', workerId: 'w2' };
const fail: RunCommand = { type: 'fail', workerId: 'w1', reason: 'crashed' };
const cancel: RunCommand = { type: 'cancel', reason: 'no longer needed' };
const expire: RunCommand = { type: 'expire' };

const outcome = (decision: Decision) =>
  decision.kind === 'transition'
    ? `-> ${decision.status}`
    : decision.kind === 'rejected'
      ? decision.reason
      : 'unchanged';

t.test(
  'given a run in each state, when each command arrives, then only the state machine’s transitions happen',
  async (t) => {
    const table: [string, RunState, RunCommand, string][] = [
      ['queued + claim', queued, claim, '-> running'],
      ['queued + cancel', queued, cancel, '-> cancelled'],
      ['queued + complete', queued, complete, 'invalid_transition'],
      ['queued + fail', queued, fail, 'invalid_transition'],
      ['queued + expire', queued, expire, 'invalid_transition'],
      ['running + claim by its worker (a retry)', running, claim, 'unchanged'],
      ['running + claim by another worker', running, { type: 'claim', workerId: 'w2' }, 'invalid_transition'],
      ['running + complete', running, complete, '-> completed'],
      ['running + complete by another worker', running, completeByOther, 'worker_mismatch'],
      ['running + fail', running, fail, '-> failed'],
      ['running + cancel', running, cancel, '-> cancelled'],
      ['running + expire', running, expire, '-> failed'],
      ['completed + complete by its worker (a retry)', completed, complete, 'unchanged'],
      ['completed + complete by another worker', completed, completeByOther, 'invalid_transition'],
      ['completed + fail', completed, fail, 'invalid_transition'],
      ['completed + cancel', completed, cancel, 'invalid_transition'],
      ['completed + claim', completed, claim, 'invalid_transition'],
      ['failed + fail by its worker (a retry)', failed, fail, 'unchanged'],
      ['failed + complete', failed, complete, 'invalid_transition'],
      ['failed + expire', failed, expire, 'invalid_transition'],
      ['cancelled + cancel (a retry)', cancelled, cancel, 'unchanged'],
      ['cancelled + claim', cancelled, claim, 'invalid_transition'],
      ['cancelled + complete', cancelled, complete, 'invalid_transition'],
    ];
    for (const [name, state, command, expected] of table) t.equal(outcome(decide(state, command)), expected, name);
  },
);

t.test('each transition records its lifecycle event', async (t) => {
  t.match(decide(queued, claim), { workerId: 'w1', event: { type: 'run.started', data: { workerId: 'w1' } } });
  t.match(decide(running, complete), { event: { type: 'run.completed', data: { workerId: 'w1' } } });
  t.match(decide(running, fail), {
    failureReason: 'crashed',
    event: { type: 'run.failed', data: { reason: 'crashed', workerId: 'w1' } },
  });
  t.match(decide(queued, cancel), { event: { type: 'run.cancelled', data: { reason: 'no longer needed' } } });
});

t.test('an expired run fails with worker_lost and keeps its worker for the record', async (t) => {
  t.match(decide(running, expire), {
    status: 'failed',
    workerId: 'w1',
    failureReason: 'worker_lost',
    event: { type: 'run.failed', data: { reason: 'worker_lost', workerId: 'w1' } },
  });
});

t.test('only the worker holding a running run may append', async (t) => {
  t.equal(appendRefusal(running, 'w1'), null);
  t.equal(appendRefusal(running, 'w2'), 'worker_mismatch');
  t.equal(appendRefusal(queued, 'w1'), 'not_running');
  t.equal(appendRefusal(completed, 'w1'), 'not_running');
});
