import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { RunEventHeaders } from '@screengraph/shared';
import { ServiceStack, streamMessages, withNats } from '@screengraph/testing';
import t from 'tap';
import { AgentFleet, checkInvariants, INJECTED, NATS_URL, record } from './harness.js';

t.test('duplicates and out-of-order copies forced on the consumer, and poison messages', async (t) => {
  const stack = await ServiceStack.start(t);
  const fleet = new AgentFleet([stack.runsUrl], {
    agents: 4,
    apps: 2,
    stepsPerBatch: 10,
    artifactEvery: 5,
    prefix: 'delivery',
  });
  await fleet.start();
  await fleet.progress(800);
  const messages = await streamMessages(NATS_URL, stack.eventsStream);
  // Copies of earlier events, shuffled: each is a duplicate, most arrive after later seqs.
  const copies = messages
    .filter((m) => m.headers['Sg-Run-Id'] !== undefined)
    .map((m, i) => ({ m, key: (i * 7919) % 1009 }))
    .sort((a, b) => a.key - b.key)
    .slice(0, 200)
    .map(({ m }) => m);
  const [victim] = fleet.runs;
  if (!victim) throw new Error('no run');
  await withNats(NATS_URL, async (nc) => {
    const js = jetstream(nc);
    const publish = async (subject: string, body: string, set: Record<string, string>) => {
      const headers = natsHeaders();
      for (const [key, value] of Object.entries({ ...set, [INJECTED]: '1' })) headers.set(key, value);
      await js.publish(subject, body, { headers });
    };
    for (const copy of copies) {
      const { 'Nats-Msg-Id': _, ...kept } = copy.headers;
      await publish(copy.subject, JSON.stringify(copy.body), kept);
    }
    const subject = copies[0]?.subject ?? '';
    const run = (seq: number) => ({ [RunEventHeaders.runId]: victim.runId, [RunEventHeaders.seq]: String(seq) });
    await publish(subject, 'garbage without a run', {});
    await publish(subject, '{"not": "an event"', run(victim.lastSeq + 1));
    await publish(subject, 'garbage', run(3));
    await publish(subject, 'garbage far ahead', run(1_000_000));
  });
  const faultEndedAt = Date.now();
  await fleet.progress(400);
  await fleet.stop();
  const result = await checkInvariants(stack, fleet, NATS_URL, faultEndedAt);
  t.match(result, { lost: 0, duplicates: 0, streamProblems: 0, graphDifferences: 0, stuck: 0 }, 'nothing lost', {
    result,
    output: stack.output,
  });
  await record({
    scenario: 'copies of 200 earlier events shuffled into the stream, 4 poison messages',
    load: '4 agents, batches of 20 events',
    fault: '200 duplicates out of order, 4 poison messages',
    acknowledged: fleet.acknowledgedEvents,
    ...result,
  });
});
