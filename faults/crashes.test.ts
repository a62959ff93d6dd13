import { ServiceStack } from '@screengraph/testing';
import t from 'tap';
import { AgentFleet, expectNothingLost, NATS_URL, sleep } from './harness.js';

const LOAD = { agents: 6, apps: 2, stepsPerBatch: 10, artifactEvery: 5 };
const load = `${LOAD.agents} agents, batches of ${LOAD.stepsPerBatch * 2} events, a log artifact every ${LOAD.artifactEvery} batches`;

t.test('SIGKILL the runs service mid-load, restart it', async (t) => {
  const stack = await ServiceStack.start(t);
  const fleet = new AgentFleet([stack.runsUrl], { ...LOAD, prefix: 'killruns' });
  await fleet.start();
  await fleet.progress(600);
  await stack.stopService('runs', 'SIGKILL');
  await sleep(1000);
  await stack.startService('runs');
  const faultEndedAt = Date.now();
  await fleet.progress(600);
  await fleet.stop();
  await expectNothingLost(
    t,
    stack,
    fleet,
    { natsUrl: NATS_URL, faultEndedAt },
    {
      scenario: 'SIGKILL the runs service mid-load, restart after 1 s',
      load,
      fault: '1 crash of the runs service',
    },
  );
  t.ok(fleet.retries > 0, `agents retried through the crash (${fleet.retries} retries)`);
});

t.test('SIGKILL the graph service mid-projection, restart it', async (t) => {
  const stack = await ServiceStack.start(t);
  const fleet = new AgentFleet([stack.runsUrl], { ...LOAD, prefix: 'killgraph' });
  await fleet.start();
  await fleet.progress(600);
  await stack.stopService('graph', 'SIGKILL');
  await fleet.progress(600);
  await stack.startService('graph');
  const faultEndedAt = Date.now();
  await fleet.progress(300);
  await fleet.stop();
  await expectNothingLost(
    t,
    stack,
    fleet,
    { natsUrl: NATS_URL, faultEndedAt },
    {
      scenario: 'SIGKILL the graph service mid-projection, restart while agents go on',
      load,
      fault: '1 crash of the graph service',
    },
  );
});
