import { ServiceStack } from '@screengraph/testing';
import t from 'tap';
import { AgentFleet, checkInvariants, NATS_URL, record, sleep } from './harness.js';

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
  const result = await checkInvariants(stack, fleet, NATS_URL, faultEndedAt);
  t.match(result, { lost: 0, duplicates: 0, streamProblems: 0, graphDifferences: 0, stuck: 0 }, 'nothing lost', {
    result,
    output: stack.output,
  });
  t.ok(fleet.retries > 0, `agents retried through the crash (${fleet.retries} retries)`);
  await record({
    scenario: 'SIGKILL the runs service mid-load, restart after 1 s',
    load,
    fault: '1 crash of the runs service',
    acknowledged: fleet.acknowledgedEvents,
    ...result,
  });
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
  const result = await checkInvariants(stack, fleet, NATS_URL, faultEndedAt);
  t.match(result, { lost: 0, duplicates: 0, streamProblems: 0, graphDifferences: 0, stuck: 0 }, 'nothing lost', {
    result,
    output: stack.output,
  });
  await record({
    scenario: 'SIGKILL the graph service mid-projection, restart while agents go on',
    load,
    fault: '1 crash of the graph service',
    acknowledged: fleet.acknowledgedEvents,
    ...result,
  });
});
