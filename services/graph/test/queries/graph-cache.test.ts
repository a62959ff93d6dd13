import type pg from 'pg';
import t from 'tap';
import { GraphCache } from '../../src/queries/graph-cache.js';

/** A pool whose screens query answers with the current list after `delayMs`, counting loads. */
function fakePool() {
  const state = { screens: ['a'], delayMs: 0, loads: 0 };
  const pool = {
    async query(config: { text: string }) {
      if (config.text.includes('FROM screens')) state.loads++;
      await new Promise((resolve) => setTimeout(resolve, state.delayMs));
      return { rows: config.text.includes('FROM screens') ? state.screens.map((id) => [id]) : [] };
    },
  };
  return { pool: pool as unknown as pg.Pool, state };
}

t.test('a model is loaded once, and again after a change, with concurrent requests sharing a load', async (t) => {
  const { pool, state } = fakePool();
  const cache = new GraphCache(pool, 20);
  const [one, two] = await Promise.all([cache.model('app'), cache.model('app')]);
  t.equal(one, two);
  t.equal(state.loads, 1);
  t.equal(await cache.model('app'), one, 'unchanged: the same model');
  t.equal(await cache.model('other'), await cache.model('other'));
  t.equal(state.loads, 2, 'each app its own');

  state.screens = ['a', 'b'];
  cache.invalidate('app');
  t.ok((await cache.model('app')).has('b'), 'a fast load is waited for');
  t.equal(state.loads, 3);
});

t.test('while a slow load runs, requests are answered from the previous model', async (t) => {
  const { pool, state } = fakePool();
  const cache = new GraphCache(pool, 20);
  const before = await cache.model('app');
  state.screens = ['a', 'c'];
  state.delayMs = 200;
  cache.invalidate('app');
  t.equal(await cache.model('app'), before, 'answered within the wait, from the previous model');
  await new Promise((resolve) => setTimeout(resolve, 250));
  t.ok((await cache.model('app')).has('c'), 'then from the new one');
  t.equal(state.loads, 2, 'one load for both requests');

  cache.invalidate('*');
  state.delayMs = 0;
  state.screens = ['d'];
  t.ok((await cache.model('app')).has('d'), 'after everything changed, nothing old is served');
});

t.test(
  'a load overtaken by a change is answered from while the next one runs; none begun before everything changed',
  async (t) => {
    const { pool, state } = fakePool();
    const cache = new GraphCache(pool, 20);
    const before = await cache.model('app');
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    state.screens = ['a', 'b'];
    state.delayMs = 50;
    cache.invalidate('app');
    t.equal(await cache.model('app'), before, 'the first load is slow: answered from the model before it');
    cache.invalidate('app');
    await sleep(60);
    state.screens = ['a', 'b', 'c'];
    state.delayMs = 200;
    t.ok((await cache.model('app')).has('b'), 'the overtaken load’s model, not the older one');
    await sleep(220);
    t.ok((await cache.model('app')).has('c'));

    state.delayMs = 50;
    cache.invalidate('app');
    void cache.model('app');
    cache.invalidate('*');
    await sleep(60);
    state.screens = ['d'];
    t.ok((await cache.model('app')).has('d'), 'a load begun before everything changed is never answered from');
  },
);

t.test('on a standby: the primary’s WAL position is read once per load after changes, not per change', async (t) => {
  const { pool: standby } = fakePool();
  const asked: string[] = [];
  const replayedPool = {
    query: async (config: { text: string; name?: string }) =>
      config.name === 'graph-cache-replayed' ? { rows: [{ done: true }] } : standby.query(config as never),
  } as unknown as pg.Pool;
  const primary = {
    query: async (text: string) => {
      asked.push(text);
      return { rows: [{ lsn: '0/1' }] };
    },
  } as unknown as pg.Pool;
  const cache = new GraphCache(replayedPool, 20, primary);
  await cache.model('app');
  t.same(asked, [], 'no change yet: nothing to wait for');
  for (let i = 0; i < 5; i++) cache.invalidate('app');
  t.same(asked, [], 'changes alone ask the primary nothing');
  await cache.model('app');
  t.equal(asked.length, 1, 'the load after them asks once');
  await cache.model('other');
  t.equal(asked.length, 1, 'a later load with no change since waits for the same position');
  cache.invalidate('*');
  await cache.model('app');
  t.equal(asked.length, 2);
});
