import { ApiError, RunsClient } from '@screengraph/client';
import { ServiceStack } from '@screengraph/testing';
import t from 'tap';
import { AgentFleet, expectNothingLost, NATS_URL, sleep } from './harness.js';

const observe = (i: number) => ({
  type: 'screen.observed' as const,
  data: { layoutHash: `vanish-${i % 3}`, activity: '.Main' },
});

t.test('an agent that vanishes is failed after the idle timeout; its late appends are refused (fencing)', async (t) => {
  const stack = await ServiceStack.start(t, { env: { runs: { RUN_IDLE_TIMEOUT: '2s' } } });
  const fleet = new AgentFleet([stack.runsUrl], {
    agents: 3,
    apps: 1,
    stepsPerBatch: 5,
    artifactEvery: 10,
    prefix: 'lease',
  });
  await fleet.start();
  const runs = new RunsClient({ url: stack.runsUrl });
  const vanishing = await runs.createRun('com.example.lease0');
  await runs.claimRun(vanishing.runId, 'vanishing-agent');
  const before = await runs.append(vanishing.runId, 'vanishing-agent', [observe(1), observe(2)]);

  // It goes silent; the others keep appending (each append counts as a heartbeat).
  const deadline = Date.now() + 15_000;
  let run = await runs.getRun(vanishing.runId);
  while (run.status === 'running' && Date.now() < deadline) {
    await sleep(200);
    run = await runs.getRun(vanishing.runId);
  }
  t.match(run, { status: 'failed', failureReason: 'worker_lost' }, 'failed with worker_lost after the idle timeout');
  const faultEndedAt = Date.now();

  const late = await runs.append(vanishing.runId, 'vanishing-agent', [observe(3)]).catch((error: unknown) => error);
  t.ok(late instanceof ApiError && late.status === 409 && late.code === 'SG_RUN_NOT_RUNNING', 'its late append: 409');
  t.equal((await runs.getRun(vanishing.runId)).lastSeq, before.lastSeq + 1, 'nothing stored but run.failed');

  // The app's next run goes to another worker; the old one cannot write into it either.
  const next = await runs.createRun('com.example.lease0');
  await runs.claimRun(next.runId, 'new-agent');
  const fenced = await runs.append(next.runId, 'vanishing-agent', [observe(4)]).catch((error: unknown) => error);
  t.ok(fenced instanceof ApiError && fenced.code === 'SG_WORKER_MISMATCH', 'nor into the run another worker holds');
  const takeover = await runs.claimRun(next.runId, 'vanishing-agent').catch((error: unknown) => error);
  t.ok(takeover instanceof ApiError && takeover.status === 409, 'nor claim it');
  await runs.complete(next.runId, 'new-agent');

  await fleet.progress(200);
  await fleet.stop();
  t.ok(
    fleet.runs.every((r) => r.acknowledged.length > 0),
    'the agents that kept appending were never failed',
  );
  await expectNothingLost(
    t,
    stack,
    fleet,
    { natsUrl: NATS_URL, faultEndedAt },
    {
      scenario: 'an agent vanishes (idle timeout 2 s), comes back late; another worker takes the app over',
      load: '3 agents, batches of 10 events',
      fault: '1 vanished agent: failed with worker_lost, 2 late appends refused',
    },
  );
});
