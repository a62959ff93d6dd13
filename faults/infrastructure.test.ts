import { ServiceStack, TestNatsServer, withClient } from '@screengraph/testing';
import t from 'tap';
import { AgentFleet, expectNothingLost, NATS_URL, sleep } from './harness.js';

const LOAD = { agents: 6, apps: 2, stepsPerBatch: 10, artifactEvery: 5 };
const load = `${LOAD.agents} agents, batches of ${LOAD.stepsPerBatch * 2} events, a log artifact every ${LOAD.artifactEvery} batches`;

t.test(
  'stop nats-server for 5 s mid-load, start it again',
  { skip: TestNatsServer.available() ? false : 'no nats-server binary (NATS_SERVER_BIN)' },
  async (t) => {
    const broker = await TestNatsServer.start();
    const stack = await ServiceStack.start(t, { natsUrl: broker.url });
    t.teardown(() => broker.destroy());
    const fleet = new AgentFleet([stack.runsUrl], { ...LOAD, prefix: 'brokerdown' });
    await fleet.start();
    await fleet.progress(400);
    await broker.kill();
    const before = fleet.acknowledgedEvents;
    await sleep(5000);
    t.ok(fleet.acknowledgedEvents > before + 100, 'appends went on without the broker');
    await broker.resume();
    const faultEndedAt = Date.now();
    await fleet.progress(400);
    await fleet.stop();
    await expectNothingLost(
      t,
      stack,
      fleet,
      { natsUrl: broker.url, faultEndedAt },
      {
        scenario: 'nats-server killed mid-load, back after 5 s',
        load,
        fault: '5 s without the broker (both services)',
      },
    );
  },
);

t.test('terminate every PostgreSQL connection of both services mid-load, twice', async (t) => {
  const stack = await ServiceStack.start(t);
  const fleet = new AgentFleet([stack.runsUrl], { ...LOAD, prefix: 'pgkill' });
  await fleet.start();
  await fleet.progress(400);
  const terminate = () =>
    withClient(stack.runsDatabase.url, (db) =>
      db.query(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
         WHERE datname = ANY($1) AND pid <> pg_backend_pid()`,
        [[stack.runsDatabase.name, stack.graphDatabase.name]],
      ),
    );
  const first = await terminate();
  t.ok((first.rows[0]?.n ?? 0) > 2, `terminated ${first.rows[0]?.n} connections`);
  // Should the fleet stall, the services' last output says why.
  const output = () =>
    `runs service:\n${stack.output.runs.slice(-3000)}\ngraph service:\n${stack.output.graph.slice(-1500)}`;
  await fleet.progress(200, 60_000, output);
  await terminate();
  const faultEndedAt = Date.now();
  await fleet.progress(400, 60_000, output);
  await fleet.stop();
  await expectNothingLost(
    t,
    stack,
    fleet,
    { natsUrl: NATS_URL, faultEndedAt },
    {
      scenario: 'every PostgreSQL connection of both services terminated mid-load, twice',
      load,
      fault: '2 × all backends terminated',
    },
  );
  t.ok(
    (await fetch(`${stack.runsUrl}/health/ready`)).ok && (await fetch(`${stack.graphUrl}/health/ready`)).ok,
    'both services ready again',
  );
});

t.test('two instances of each service; one of each killed mid-load', async (t) => {
  const stack = await ServiceStack.start(t);
  await stack.startService('runs', 1);
  await stack.startService('graph', 1);
  const runsUrls = [stack.runsUrl, await stack.url('runs', 1)];
  const fleet = new AgentFleet(runsUrls, { ...LOAD, prefix: 'replicas' });
  await fleet.start();
  await fleet.progress(600);
  await Promise.all([stack.stopService('runs', 'SIGKILL', 1), stack.stopService('graph', 'SIGKILL', 0)]);
  const faultEndedAt = Date.now();
  await fleet.progress(600);
  await fleet.stop();
  await expectNothingLost(
    t,
    stack,
    fleet,
    { natsUrl: NATS_URL, faultEndedAt, graphUrl: await stack.url('graph', 1) },
    {
      scenario: 'two instances of each service; one runs and one graph instance killed mid-load',
      load,
      fault: '2 of 4 instances crashed, not restarted',
    },
  );
});
