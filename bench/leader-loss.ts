/**
 * `pnpm bench:leader-loss`: a run's order in the stream when the stream's leader goes mid-batch.
 *
 * On a three-node NATS cluster of its own (loopback ports, an R3 stream), per drain: 8 runs
 * appended 6,000 events each by a runs service that does not relay, then a relaying one started
 * on that backlog (batches of up to 2,000 events); with 10–60 % of it published, the stream's
 * leader is put in lame duck mode (SIGUSR2) or killed (SIGKILL), and started again once
 * everything is published.
 * Prints per drain the backlog left at the fault, the messages the relay withdrew and published
 * again (msg id `<eventId>~<seq>`), messages standing after a later event of their run, and
 * events missing from or twice in the stream; a drain whose stream finds no new leader within
 * 60 s (nats-server 2.9) has the node started again, and is counted as stuck. A leader losing what was in flight while the next
 * one stores later messages of the same pipelined batch does not happen in every drain.
 * Environment: BENCH_DRAINS (default 4 per signal), BENCH_SIGNALS (default `SIGUSR2,SIGKILL`),
 * BENCH_SERVICES (another build's services/, to compare).
 */
import { randomBytes } from 'node:crypto';
import { streamMessages, TestNatsCluster, uniqueDatabase } from '@screengraph/testing';
import { batchBody, RunsService, sleep, startBenchmark } from './support.js';

startBenchmark(import.meta.url);

const DRAINS = Number(process.env.BENCH_DRAINS ?? 4);
const SIGNALS = (process.env.BENCH_SIGNALS ?? 'SIGUSR2,SIGKILL').split(',') as ('SIGUSR2' | 'SIGKILL')[];
const RUNS = 8;
const BATCHES = 60;
const BATCH = 100;

async function drain(cluster: TestNatsCluster, signal: 'SIGUSR2' | 'SIGKILL') {
  const suffix = randomBytes(4).toString('hex');
  const database = uniqueDatabase('bench_leader_loss');
  const env = {
    NATS_URL: cluster.url,
    RUNS_DATABASE_URL: database.url,
    RUN_EVENTS_STREAM: `BENCH_LEADER_LOSS_${suffix.toUpperCase()}`,
    RUN_EVENTS_SUBJECT_PREFIX: `bench_leader_loss_${suffix}`,
    RUNS_ARTIFACTS_BUCKET: `bench_leader_loss_${suffix}`,
    RUN_EVENTS_REPLICAS: '3',
  };
  const writer = await RunsService.start({ ...env, RUNS_RELAY_CONCURRENCY: '0' });
  let relay: RunsService | undefined;
  try {
    const runs = await writer.runningRuns(RUNS, (i) => `com.example.leaderloss${i}`);
    for (let b = 0; b < BATCHES; b++) {
      await Promise.all(runs.map((runId) => writer.json('POST', `/runs/${runId}/events`, batchBody(BATCH).body)));
    }
    relay = await RunsService.start(env);
    // The fault comes once publishing is under way: with 10–60 % of the backlog published.
    const backlog = await relay.outboxLag(runs);
    const faultAt = backlog * (0.4 + Math.random() * 0.5);
    let leftAtFault = backlog;
    while (leftAtFault > faultAt) {
      await sleep(5);
      leftAtFault = await relay.outboxLag(runs);
    }
    const leader = await cluster.untilLeader(env.RUN_EVENTS_STREAM);
    await cluster.stop(leader, signal);
    // nats-server 2.9 has left the survivors without a leader until the node came back: then it is
    // started again after 60 s, and the drain counts as stuck.
    const faultedAt = Date.now();
    let stuck = false;
    while ((await relay.outboxLag(runs)) > 0) {
      if (!stuck && Date.now() - faultedAt > 60_000) {
        stuck = true;
        await cluster.start(leader);
      }
      if (Date.now() - faultedAt > 180_000) throw new Error('the backlog was not published within 180 s');
      await sleep(200);
    }
    const publishedAfterMs = Date.now() - faultedAt;
    if (!stuck) await cluster.start(leader);
    await cluster.untilCurrent(env.RUN_EVENTS_STREAM, 3);
    const messages = await streamMessages(cluster.url, env.RUN_EVENTS_STREAM);
    const highest = new Map<string, number>();
    const seen = new Map<string, number>();
    let outOfOrder = 0;
    let republished = 0;
    for (const message of messages) {
      const { runId, seq, eventId } = message.body as { runId: string; seq: number; eventId: string };
      if (seq < (highest.get(runId) ?? 0)) outOfOrder++;
      highest.set(runId, Math.max(seq, highest.get(runId) ?? 0));
      if (message.headers['Nats-Msg-Id'] !== eventId) republished++;
      seen.set(`${runId}/${seq}`, (seen.get(`${runId}/${seq}`) ?? 0) + 1);
    }
    // Each run: created, started, then the appended events.
    const expected = RUNS * (2 + BATCHES * BATCH);
    const twice = [...seen.values()].filter((count) => count > 1).length;
    return {
      leader,
      leftAtFault,
      publishedAfterMs,
      stuck,
      messages: messages.length,
      expected,
      republished,
      outOfOrder,
      twice,
    };
  } finally {
    await relay?.stop();
    await writer.stop();
    await database.drop();
  }
}

const cluster = await TestNatsCluster.start(3);
try {
  console.log(`leader-loss benchmark: ${RUNS} runs × ${BATCHES * BATCH} events a drain, three loopback nodes`);
  const totals = { drains: 0, stuck: 0, republished: 0, outOfOrder: 0, missing: 0, twice: 0 };
  for (const signal of SIGNALS) {
    for (let i = 0; i < DRAINS; i++) {
      const r = await drain(cluster, signal);
      const missing = r.expected - (r.messages - r.twice);
      console.log(
        `${signal.padEnd(7)} drain ${i + 1}: ${r.leftAtFault} events left at the fault (leader ${r.leader}), ` +
          `all published ${(r.publishedAfterMs / 1000).toFixed(1)} s after it${r.stuck ? ' (no leader until the node came back after 60 s)' : ''}; ` +
          `${r.republished} withdrawn and published again, ${r.outOfOrder} out of order, ${missing} missing, ${r.twice} twice`,
      );
      totals.drains++;
      if (r.stuck) totals.stuck++;
      totals.republished += r.republished;
      totals.outOfOrder += r.outOfOrder;
      totals.missing += missing;
      totals.twice += r.twice;
    }
  }
  console.log(
    `${totals.drains} drains (${totals.stuck} stuck until the node came back): ${totals.republished} published again, ${totals.outOfOrder} out of order, ` +
      `${totals.missing} missing, ${totals.twice} twice`,
  );
} finally {
  await cluster.destroy();
}
