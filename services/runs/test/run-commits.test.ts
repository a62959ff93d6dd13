import { newUlid } from '@screengraph/shared';
import type { ChannelListener } from '@screengraph/shared/postgres';
import { ensureDatabase, listenerName } from '@screengraph/shared/postgres';
import { streamMessages, uniqueDatabase, withClient } from '@screengraph/testing';
import pg from 'pg';
import t, { type Test } from 'tap';
import { buildRunsApp } from '../src/app.js';
import { RUN_EVENTS_CHANNEL, RunCommits, type RunCommitsOptions } from '../src/live/run-commits.js';
import { RunsRepository } from '../src/runs/runs-repository.js';
import { build, runningRun, screen, tap, WORKER } from './helpers/build.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const quiet = { warn: () => undefined } as never;

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** A second instance's RunCommits on the same database, recording what it hears. */
async function listening(t: Test, databaseUrl: string, options: RunCommitsOptions = {}) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const commits = new RunCommits(pool, databaseUrl, quiet, options);
  const heard: string[] = [];
  commits.onCommit((runId) => heard.push(runId));
  await commits.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await commits.stop();
    await pool.end();
  };
  t.teardown(stop);
  return { commits, heard, stop };
}

t.test('commits are told at once here, and to other instances in a few notifications', async (t) => {
  const database = uniqueDatabase('runs_commits');
  await withClient(database.url.replace(/\/[^/]+$/, '/postgres'), (admin) =>
    admin.query(`CREATE DATABASE ${database.name}`),
  );
  t.teardown(() => database.drop());
  const here = await listening(t, database.url);
  const there = await listening(t, database.url);

  const runIds = Array.from({ length: 1000 }, () => newUlid());
  for (const runId of runIds) here.commits.committed(runId);
  t.same(here.heard, runIds, 'this instance’s handlers, at once, each run once');
  await until(() => new Set(there.heard).size === runIds.length, 5000, 'the other instance hears every run');
  t.same(new Set(there.heard), new Set(runIds));
  t.ok(
    here.commits.sent.notifications < 50,
    `coalesced: ${here.commits.sent.notifications} notifications for ${runIds.length} commits`,
  );
  await sleep(100);
  t.equal(here.heard.length, runIds.length, 'an instance does not hear its own notifications again');

  // A bare run id (an older instance, or NOTIFY by hand) is taken; anything else is not.
  const bare = newUlid();
  await withClient(database.url, async (client) => {
    await client.query(`SELECT pg_notify($1, $2)`, [RUN_EVENTS_CHANNEL, bare]);
    await client.query(`SELECT pg_notify($1, $2)`, [RUN_EVENTS_CHANNEL, 'other:not-a-run-id; DROP TABLE runs']);
  });
  await until(() => there.heard.includes(bare), 2000, 'a bare run id');
  await sleep(50);
  t.equal(there.heard.at(-1), bare, 'a payload of no run id is ignored');

  // What is pending when the instance stops still goes out.
  const last = newUlid();
  here.commits.committed(last);
  await here.commits.stop();
  await until(() => there.heard.includes(last), 2000, 'the last commit before stopping');
});

t.test('notifications go out on the listening connection; through the pool while it reconnects', async (t) => {
  const database = uniqueDatabase('runs_commits_listener');
  await ensureDatabase(database.url);
  t.teardown(() => database.drop());
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  let pooled = 0;
  const query = pool.query.bind(pool) as (sql: string) => Promise<unknown>;
  pool.query = ((sql: string) => {
    pooled++;
    return query(sql);
  }) as typeof pool.query;
  const here = new RunCommits(pool, database.url, quiet);
  await here.start();
  t.teardown(async () => {
    await here.stop();
    await pool.end();
  });
  const listenerPid = await withClient(database.url, async (client) => {
    const { rows } = await client.query(
      'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2',
      [database.name, listenerName(RUN_EVENTS_CHANNEL)],
    );
    t.equal(rows.length, 1, 'one listening backend: this instance’s');
    return rows[0].pid as number;
  });
  const there = await listening(t, database.url);

  const runIds = Array.from({ length: 100 }, () => newUlid());
  for (const runId of runIds) here.committed(runId);
  await until(() => new Set(there.heard).size === runIds.length, 5000, 'the other instance hears every run');
  t.equal(pooled, 0, 'no notification through the pool while the listener is connected');

  const listener = (here as unknown as { listener: ChannelListener }).listener;
  await withClient(database.url, (client) => client.query('SELECT pg_terminate_backend($1)', [listenerPid]));
  await until(() => !listener.connected, 5000, 'the listener sees its connection lost');
  const meanwhile = newUlid();
  here.committed(meanwhile);
  await until(() => there.heard.includes(meanwhile), 5000, 'a commit while the listener reconnects');
  t.ok(pooled > 0, 'sent through the pool meanwhile');
  await until(() => listener.connected, 5000, 'the listener connects again');
});

t.test(
  'an instance alone keeps its commits to itself; a newcomer is heard at once and told what it missed',
  async (t) => {
    const database = uniqueDatabase('runs_commits_alone');
    await ensureDatabase(database.url);
    t.teardown(() => database.drop());
    const presence = { presenceIntervalMs: 50 };
    const here = await listening(t, database.url, presence);
    t.notOk(here.commits.alone(), 'a new instance takes the others to be there at first');
    await until(() => here.commits.alone(), 2000, 'alone after three intervals without another');

    const whileAlone = newUlid();
    here.commits.committed(whileAlone);
    t.same(here.heard, [whileAlone], 'still told here at once');
    await sleep(50);
    t.equal(here.commits.sent.notifications, 0, 'no notification while no other instance listens');
    t.equal(here.commits.sent.untold, 1);

    const there = await listening(t, database.url, presence);
    await until(() => there.heard.includes(whileAlone), 2000, 'the newcomer is told what was committed alone');
    t.notOk(here.commits.alone(), 'the newcomer was heard');
    const together = newUlid();
    here.commits.committed(together);
    await until(() => there.heard.includes(together), 2000, 'a commit with another instance there');
    t.ok(here.commits.sent.notifications >= 1);
    await sleep(250);
    t.notOk(here.commits.alone(), 'not alone after five intervals: the other says it listens at each');

    await there.stop();
    await until(() => here.commits.alone(), 2000, 'alone again once the other has gone quiet');
    const notifications = here.commits.sent.notifications;
    here.commits.committed(newUlid());
    await sleep(50);
    t.equal(here.commits.sent.notifications, notifications, 'no notification once alone again');
  },
);

t.test(
  'an append on an instance that relays nothing is published promptly by another, and streamed live there',
  async (t) => {
    const writer = await build(t, { relayConcurrency: 0 });
    // Sweeps a minute apart: only the writer's notification can wake this relay in time.
    const relay = await buildRunsApp(
      { ...writer.options, relayConcurrency: 2, relaySweepIntervalMs: 60_000 },
      { logger: false },
    );
    t.teardown(() => relay.close());
    const runId = await runningRun(writer);
    await sleep(100); // the relay's first sweep (at its start) has passed
    const address = await relay.listen({ port: 0, host: '127.0.0.1' });
    const live = fetch(`${address}/runs/${runId}/events/stream?afterSeq=2`).then(async (response) => {
      const reader = response.body?.getReader();
      let text = '';
      while (reader && !text.includes('"seq":3')) text += new TextDecoder().decode((await reader.read()).value);
      await reader?.cancel();
      return text;
    });
    await sleep(100);

    const started = Date.now();
    const appended = await writer.inject({
      method: 'POST',
      url: `/runs/${runId}/events`,
      payload: { workerId: WORKER, events: [screen(), tap()] },
    });
    t.equal(appended.statusCode, 201);
    await until(
      async () => (await writer.inject(`/runs/${runId}/outbox`)).json().lag === 0,
      2000,
      'published by the other instance',
    );
    t.ok(Date.now() - started < 2000, `published ${Date.now() - started} ms after the append, by the other instance`);
    t.match(await live, /"seq":3/, 'the other instance’s live stream got the event');
    const messages = await streamMessages(writer.options.natsUrl, writer.options.eventsStream);
    t.same(
      messages.map((message) => (message.body as { seq: number }).seq),
      [1, 2, 3, 4],
      'in order, none skipped',
    );
  },
);

t.test('events whose commit no one was told of (a crash before the wake-up) are published by the sweep', async (t) => {
  const writer = await build(t, { relayConcurrency: 0 });
  const runId = await runningRun(writer);
  // The repository as an instance that died right after its commits: nobody is told.
  const pool = new pg.Pool({ connectionString: writer.databaseUrl, max: 2 });
  t.teardown(() => pool.end());
  const silent = new RunsRepository(pool);
  for (let i = 0; i < 5; i++) {
    await silent.append(runId, WORKER, undefined, [
      { eventId: newUlid(), type: 'screen.observed', data: {}, occurredAt: new Date(), requestId: null },
    ]);
  }
  const relay = await buildRunsApp(
    { ...writer.options, relayConcurrency: 2, relaySweepIntervalMs: 200 },
    { logger: false },
  );
  t.teardown(() => relay.close());
  await until(async () => (await writer.inject(`/runs/${runId}/outbox`)).json().lag === 0, 5000, 'swept');
  const messages = await streamMessages(writer.options.natsUrl, writer.options.eventsStream);
  t.same(
    messages.map((message) => (message.body as { seq: number }).seq),
    [1, 2, 3, 4, 5, 6, 7],
    'every event, in order',
  );
});
