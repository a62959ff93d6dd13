import { newUlid } from '@screengraph/shared';
import pg from 'pg';
import t, { type Test } from 'tap';
import type { IncomingEvent } from '../src/runs/plan-append.js';
import { RunsRepository } from '../src/runs/runs-repository.js';
import { build, runningRun, WORKER } from './helpers/build.js';

function events(count: number, activity = '.MainActivity'): IncomingEvent[] {
  return Array.from({ length: count }, () => ({
    eventId: newUlid(),
    type: 'screen.observed' as const,
    data: { activity },
    occurredAt: new Date(),
    requestId: null,
  }));
}

/** A repository of its own on the test's database, with the commits it reports. */
async function repositoryOf(t: Test, databaseUrl: string) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  t.teardown(() => pool.end());
  const committed: string[] = [];
  return { repository: new RunsRepository(pool, (runId) => committed.push(runId)), pool, committed };
}

async function seqsOf(pool: pg.Pool, runId: string): Promise<number[]> {
  const { rows } = await pool.query<{ seq: string }>('SELECT seq FROM run_events WHERE run_id = $1 ORDER BY seq', [
    runId,
  ]);
  return rows.map((row) => Number(row.seq));
}

t.test('single-event appends of many runs that arrive together share statements, each stored as alone', async (t) => {
  const app = await build(t, { relayConcurrency: 0 });
  const { repository, pool, committed } = await repositoryOf(t, app.databaseUrl);
  const runIds: string[] = [];
  for (let i = 0; i < 24; i++) runIds.push(await runningRun(app, WORKER, `com.example.group${i}`));

  // Three appends per run, all at once: a group holds a run once, so each run's next one waits.
  const appends = runIds.flatMap((runId) => [0, 1, 2].map(() => ({ runId, events: events(1) })));
  const results = await Promise.all(appends.map((a) => repository.append(a.runId, WORKER, undefined, a.events)));

  t.ok(
    results.every((result) => result.stored),
    'every append stored',
  );
  for (const runId of runIds) {
    const seqs = results
      .filter((_, i) => appends[i]?.runId === runId)
      .flatMap((result) => result.events.map((event) => event.seq));
    t.same(
      [...seqs].sort((a, b) => a - b),
      [3, 4, 5],
      'each run’s appends took seqs 3, 4 and 5 (after run.created and run.claimed)',
    );
    t.same(await seqsOf(pool, runId), [1, 2, 3, 4, 5], 'and the log is gapless');
  }
  const { groups, appends: grouped } = repository.appendGroups.stats;
  t.ok(groups > 0 && grouped > groups, `grouped: ${grouped} appends in ${groups} group statements`);
  t.ok(groups <= appends.length / 2, 'far fewer statements than appends');
  t.equal(committed.length, appends.length, 'every stored append reported as committed');
  // The stored answers are what the service returns to a retry.
  const again = await repository.append(appends[0]?.runId as string, WORKER, undefined, appends[0]?.events ?? []);
  t.same(again, { stored: false, events: results[0]?.events }, 'a retry finds the grouped append stored');
});

t.test('in one group, each append gets its own answer: refusals, conflicts and retries do not spill', async (t) => {
  const app = await build(t, { relayConcurrency: 0 });
  const { repository, pool } = await repositoryOf(t, app.databaseUrl);
  const good = await runningRun(app, WORKER, 'com.example.good');
  const other = await runningRun(app, 'worker-2', 'com.example.other');
  const stale = await runningRun(app, WORKER, 'com.example.stale');
  const retried = await runningRun(app, WORKER, 'com.example.retried');
  const done = await runningRun(app, WORKER, 'com.example.done');
  await app.inject({ method: 'POST', url: `/runs/${done}/complete`, payload: { workerId: WORKER } });
  const stored = events(1);
  await repository.append(retried, WORKER, undefined, stored);
  const before = repository.appendGroups.stats.groups;

  const [ok, mismatch, seqConflict, retry, notRunning] = await Promise.allSettled([
    repository.append(good, WORKER, undefined, events(1)),
    repository.append(other, WORKER, undefined, events(1)),
    repository.append(stale, WORKER, 7, events(1)),
    repository.append(retried, WORKER, undefined, stored),
    repository.append(done, WORKER, undefined, events(1)),
  ]);
  t.match(ok, { status: 'fulfilled', value: { stored: true, events: [{ seq: 3 }] } }, 'the good append stored');
  t.match(mismatch, { status: 'rejected', reason: { code: 'SG_WORKER_MISMATCH' } });
  t.match(seqConflict, { status: 'rejected', reason: { code: 'SG_SEQ_CONFLICT', currentSeq: 2 } });
  t.match(retry, { status: 'fulfilled', value: { stored: false, events: [{ seq: 3 }] } }, 'a retry answered');
  t.match(notRunning, { status: 'rejected', reason: { code: 'SG_RUN_NOT_RUNNING' } });
  t.same(await seqsOf(pool, good), [1, 2, 3]);
  t.same(await seqsOf(pool, retried), [1, 2, 3], 'the retried event stored once');
  for (const runId of [other, stale]) t.same(await seqsOf(pool, runId), [1, 2], 'refused appends stored nothing');
  t.equal(repository.appendGroups.stats.groups, before, 'the group’s stored id undid it: each append went alone');
});

t.test('appends of many events go alone, at once; an expected seq is kept in a group', async (t) => {
  const app = await build(t, { relayConcurrency: 0 });
  const { repository, pool } = await repositoryOf(t, app.databaseUrl);
  const big = await runningRun(app, WORKER, 'com.example.big');
  const small = await runningRun(app, WORKER, 'com.example.small');
  const third = await runningRun(app, WORKER, 'com.example.third');
  const results = await Promise.all([
    repository.append(big, WORKER, undefined, events(50)),
    repository.append(small, WORKER, 2, events(2)),
    repository.append(third, WORKER, 2, events(1)),
  ]);
  t.same(
    results.map((result) => result.events.length),
    [50, 2, 1],
  );
  t.same(repository.appendGroups.stats, { groups: 1, appends: 2 }, 'the two small ones shared a statement');
  t.equal((await seqsOf(pool, big)).length, 52);
  t.same(await seqsOf(pool, small), [1, 2, 3, 4]);
});

t.test('two instances grouping appends of the same runs store every one, gapless', async (t) => {
  const app = await build(t, { relayConcurrency: 0 });
  const one = await repositoryOf(t, app.databaseUrl);
  const two = await repositoryOf(t, app.databaseUrl);
  const runIds: string[] = [];
  for (let i = 0; i < 10; i++) runIds.push(await runningRun(app, WORKER, `com.example.shared${i}`));
  for (let round = 0; round < 5; round++) {
    // Opposite orders, so the groups of the two instances meet the runs the other way round.
    await Promise.all([
      ...runIds.map((runId) => one.repository.append(runId, WORKER, undefined, events(1))),
      ...[...runIds].reverse().map((runId) => two.repository.append(runId, WORKER, undefined, events(1))),
    ]);
  }
  for (const runId of runIds) {
    t.same(
      await seqsOf(one.pool, runId),
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
  }
  t.ok(one.repository.appendGroups.stats.groups > 0 && two.repository.appendGroups.stats.groups > 0, 'both grouped');
});
