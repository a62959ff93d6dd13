import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { RunEventHeaders } from '@screengraph/shared';
import { ServiceStack, streamMessages, withNats } from '@screengraph/testing';
import t from 'tap';
import { AgentFleet, expectNothingLost, INJECTED, NATS_URL } from './harness.js';

t.test('duplicates and out-of-order copies forced on the consumer, and poison messages', async (t) => {
  const stack = await ServiceStack.start(t);
  const options = { agents: 4, apps: 2, stepsPerBatch: 10, artifactEvery: 5 };
  // The first fleet's runs end and are all published: the stream's subjects of those runs are
  // then the scenario's to tamper with (the relay never publishes on them again).
  const first = new AgentFleet([stack.runsUrl], { ...options, prefix: 'deliverya' });
  await first.start();
  await first.progress(800);
  await first.stop();
  for (const run of first.runs) {
    for (let lag = 1; lag > 0; ) {
      lag = ((await fetch(`${stack.runsUrl}/runs/${run.runId}/outbox`).then((r) => r.json())) as { lag: number }).lag;
      if (lag > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const second = new AgentFleet([stack.runsUrl], { ...options, prefix: 'deliveryb' });
  await second.start();

  const messages = await streamMessages(NATS_URL, stack.eventsStream);
  const firstRuns = new Set(first.runs.map((run) => run.runId));
  // Copies of the first runs' events, shuffled: each a duplicate, most behind later seqs.
  const copies = messages
    .filter((m) => firstRuns.has(m.headers[RunEventHeaders.runId] ?? ''))
    .map((m, i) => ({ m, key: (i * 7919) % 1009 }))
    .sort((a, b) => a.key - b.key)
    .slice(0, 200)
    .map(({ m }) => m);
  const [victim] = first.runs;
  if (!victim) throw new Error('no run');
  await withNats(NATS_URL, async (nc) => {
    const js = jetstream(nc);
    const publish = async (subject: string, body: string, set: Record<string, string>) => {
      const headers = natsHeaders();
      for (const [key, value] of Object.entries({ ...set, [INJECTED]: '1' })) headers.set(key, value);
      await js.publish(subject, body, { headers });
    };
    for (const copy of copies) {
      // The relay's Nats-* headers (msg id, expected subject sequence) would make the broker refuse it.
      const kept = Object.fromEntries(Object.entries(copy.headers).filter(([key]) => !key.startsWith('Nats-')));
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
  await second.progress(400);
  await second.stop();
  const both = {
    runs: [...first.runs, ...second.runs],
    acknowledgedEvents: first.acknowledgedEvents + second.acknowledgedEvents,
  };
  await expectNothingLost(
    t,
    stack,
    both,
    { natsUrl: NATS_URL, faultEndedAt },
    {
      scenario: 'copies of 200 published events shuffled back into the stream, 4 poison messages, while agents go on',
      load: '4 + 4 agents, batches of 20 events',
      fault: '200 duplicates out of order, 4 poison messages',
    },
  );
});
