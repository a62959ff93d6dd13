import { jetstreamManager } from '@nats-io/jetstream';
import { ServiceStack, TestNatsCluster, withNats } from '@screengraph/testing';
import t, { type Test } from 'tap';
import { AgentFleet, expectNothingLost, sleep } from './harness.js';

const LOAD = { agents: 6, apps: 2, stepsPerBatch: 10, artifactEvery: 5 };
const load = `${LOAD.agents} agents, batches of ${LOAD.stepsPerBatch * 2} events, a log artifact every ${LOAD.artifactEvery} batches`;
const skip = TestNatsCluster.available() ? false : 'no nats-server binary (NATS_SERVER_BIN) to start a cluster with';

/** A three-node cluster of the test's own, both services on all three nodes, stream and bucket at R3. */
async function onCluster(t: Test): Promise<{ cluster: TestNatsCluster; stack: ServiceStack }> {
  const cluster = await TestNatsCluster.start(3);
  const stack = await ServiceStack.start(t, {
    natsUrl: cluster.url,
    env: { runs: { RUN_EVENTS_REPLICAS: '3', RUNS_ARTIFACTS_REPLICAS: '3' } },
  });
  // After the stack's own teardown, which deletes its stream and bucket on the cluster.
  t.teardown(() => cluster.destroy());
  await cluster.untilCurrent(stack.eventsStream, 3);
  return { cluster, stack };
}

/** Waits until a node other than `gone` leads the stream; how long that took from `since`. */
async function successor(cluster: TestNatsCluster, stream: string, gone: string, since: number) {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(100)) {
    const leader = await cluster.leaderOf(stream);
    if (leader && leader !== gone) return { leader, ms: Date.now() - since };
  }
  throw new Error(`no new leader of ${stream} within 30 s`);
}

/** The stream's consumers whose leader is one of these nodes. */
async function consumersLedBy(cluster: TestNatsCluster, stream: string, nodes: string[]): Promise<string[]> {
  return withNats(cluster.url, async (nc) => {
    const led: string[] = [];
    for await (const info of (await jetstreamManager(nc)).consumers.list(stream)) {
      if (nodes.includes(info.cluster?.leader ?? '')) led.push(info.name);
    }
    return led;
  });
}

/**
 * The end of a scenario: the nodes it stopped started again, the agents going on for `events`
 * more, then stopped, the replicas caught up, and the suite's invariants checked and recorded.
 */
async function restartAndCheck(
  t: Test,
  { cluster, stack }: { cluster: TestNatsCluster; stack: ServiceStack },
  fleet: AgentFleet,
  nodes: string[],
  events: number,
  row: { scenario: string; fault: string },
): Promise<void> {
  for (const node of nodes) await cluster.start(node);
  const faultEndedAt = Date.now();
  await fleet.progress(events, 60_000, output(stack));
  await fleet.stop();
  await cluster.untilCurrent(stack.eventsStream, 3);
  await expectNothingLost(
    t,
    stack,
    fleet,
    { natsUrl: cluster.url, faultEndedAt },
    { scenario: row.scenario, load, fault: row.fault },
  );
}

const output = (stack: ServiceStack) => () =>
  `runs service:\n${stack.output.runs.slice(-3000)}\ngraph service:\n${stack.output.graph.slice(-2000)}`;

t.test(
  'SIGKILL of the stream leader mid-load, started again once another leads; an artifact read from the survivors',
  { skip, timeout: 240_000 },
  async (t) => {
    const { cluster, stack } = await onCluster(t);
    const fleet = new AgentFleet([stack.runsUrl], { ...LOAD, prefix: 'leaderkill' });
    await fleet.start();
    const first = fleet.runs[0]?.runId as string;
    const upload = await fetch(`${stack.runsUrl}/runs/${first}/artifacts?kind=log`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'stored before the crash\n',
    });
    t.equal(upload.status, 201);
    const { artifactId } = (await upload.json()) as { artifactId: string };
    await fleet.progress(400);

    const leader = await cluster.untilLeader(stack.eventsStream);
    // The graph service's consumers (a partition each) are replicated too: some are led by this node.
    const led = await consumersLedBy(cluster, stack.eventsStream, [leader]);
    t.comment(`${led.length} of the graph service's 17 consumers lose their leader too`);
    const killedAt = Date.now();
    await cluster.stop(leader, 'SIGKILL');
    const before = fleet.acknowledgedEvents;
    const next = await successor(cluster, stack.eventsStream, leader, killedAt);
    t.comment(`${next.leader} leads the stream ${next.ms} ms after ${leader} was killed`);
    t.ok(fleet.acknowledgedEvents > before, 'appends went on during the election');
    // Read from the surviving nodes once the bucket's stream leads again (503 meanwhile: retried).
    let artifact = await fetch(`${stack.runsUrl}/runs/${first}/artifacts/${artifactId}/content`);
    for (let i = 0; artifact.status === 503 && i < 150; i++) {
      await sleep(200);
      artifact = await fetch(`${stack.runsUrl}/runs/${first}/artifacts/${artifactId}/content`);
    }
    t.equal(
      await artifact.text(),
      'stored before the crash\n',
      'an artifact stored before the crash, read from the others',
    );
    await fleet.progress(200, 60_000, output(stack));
    await restartAndCheck(t, { cluster, stack }, fleet, [leader], 400, {
      scenario: 'three-node NATS cluster (R3): the stream leader SIGKILLed mid-load, started again',
      fault: `1 node crashed, a new leader after ${(next.ms / 1000).toFixed(1)} s`,
    });
  },
);

t.test(
  'the stream leader in lame duck mode mid-load (its clients moved off, then stopped)',
  { skip, timeout: 240_000 },
  async (t) => {
    const { cluster, stack } = await onCluster(t);
    const fleet = new AgentFleet([stack.runsUrl], { ...LOAD, prefix: 'lameduck' });
    await fleet.start();
    await fleet.progress(400);
    const leader = await cluster.untilLeader(stack.eventsStream);
    const since = Date.now();
    const stopped = cluster.stop(leader, 'SIGUSR2');
    // The fleet goes on while the node sends its clients elsewhere, and after it stopped.
    await fleet.progress(400, 60_000, output(stack));
    await stopped;
    const next = await successor(cluster, stack.eventsStream, leader, since);
    t.comment(`${leader} stopped after ${Date.now() - since} ms; ${next.leader} leads`);
    await fleet.progress(200, 60_000, output(stack));
    await restartAndCheck(t, { cluster, stack }, fleet, [leader], 200, {
      scenario: 'three-node NATS cluster (R3): the stream leader put in lame duck mode mid-load, started again',
      fault: '1 node stopped gracefully (clients moved over 30 s)',
    });
  },
);

t.test('two of three nodes down for 10 s mid-load (no quorum), then back', { skip, timeout: 240_000 }, async (t) => {
  const { cluster, stack } = await onCluster(t);
  const fleet = new AgentFleet([stack.runsUrl], { ...LOAD, prefix: 'noquorum' });
  await fleet.start();
  await fleet.progress(400);
  const leader = await cluster.untilLeader(stack.eventsStream);
  const down = cluster.names.filter((name) => name !== leader);
  const led = await consumersLedBy(cluster, stack.eventsStream, down);
  t.comment(`${led.length} of the graph service's 17 consumers lose their leader and their quorum`);
  for (const name of down) await cluster.stop(name, 'SIGKILL');
  const before = fleet.acknowledgedEvents;
  await sleep(10_000);
  t.ok(
    fleet.acknowledgedEvents > before + 100,
    `appends went on without a quorum (${fleet.acknowledgedEvents - before} events in 10 s)`,
  );
  await restartAndCheck(t, { cluster, stack }, fleet, down, 400, {
    scenario: 'three-node NATS cluster (R3): two of three nodes down for 10 s mid-load, then back',
    fault: '2 nodes crashed: no quorum for 10 s',
  });
});
