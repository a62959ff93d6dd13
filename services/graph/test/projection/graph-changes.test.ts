import { ChannelListener, ensureDatabase } from '@screengraph/shared/postgres';
import { uniqueDatabase } from '@screengraph/testing';
import pg from 'pg';
import t from 'tap';
import { GRAPH_CHANGED_CHANNEL, GraphChanges } from '../../src/projection/graph-changes.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const silent = { warn() {}, info() {}, error() {}, debug() {}, child: () => silent } as never;

t.test('graph changes: this process hears each at once, other instances once per app and interval', async (t) => {
  const database = uniqueDatabase('graph_changes');
  await ensureDatabase(database.url);
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  const listener = new ChannelListener(database.url, GRAPH_CHANGED_CHANNEL, silent);
  const heard: string[] = [];
  listener.onCommit((appPackage) => heard.push(appPackage));
  await listener.start();
  t.teardown(async () => {
    await listener.stop();
    await pool.end();
    await database.drop();
  });

  const changes = new GraphChanges(pool, silent, 100);
  const local: string[] = [];
  changes.onLocalChange((appPackage) => local.push(appPackage));
  for (let i = 0; i < 20; i++) changes.announce(i % 4 === 0 ? 'com.example.b' : 'com.example.a');
  t.equal(local.length, 20, 'every change, to this process, at once');
  t.same(heard, [], 'nothing sent to other instances yet');
  await sleep(400);
  t.same(heard.sort(), ['com.example.a', 'com.example.b'], 'one announcement per app for the interval');

  changes.announce('com.example.a');
  await changes.flush();
  await sleep(200);
  t.same(heard.filter((app) => app === 'com.example.a').length, 2, 'what was due goes out when the service closes');
  changes.announce('com.example.c');
  await sleep(300);
  t.notOk(heard.includes('com.example.c'), 'nothing after that');
});
