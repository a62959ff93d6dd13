/**
 * `pnpm bench:queries`: latency of the graph queries on a large app graph.
 *
 * An app graph of 10,000 screens, 100,000 actions (10 per screen) and 50,000 edges (5 per screen:
 * one to the next screen, so everything is reachable, and four to pseudo-random screens) is
 * generated in a throwaway graph database; the compiled graph service (not consuming) answers
 * path, frontier, screen detail and coverage for random screens over HTTP, one request at a time.
 * The first path query loads the app's graph model; later ones use it until the graph changes.
 * Environment: BENCH_REQUESTS (per query, default 300).
 */

import { uniqueDatabase, withClient } from '@screengraph/testing';
import { migrateGraphDatabase } from '../services/graph/src/migrations.js';
import { GraphService, percentile, startBenchmark } from './support.js';

startBenchmark(import.meta.url);

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const SCREENS = 10_000;
const APP = 'com.example.big';
const hex = (n: number) => n.toString(16).padStart(32, '0');

const database = uniqueDatabase('bench_queries');
await migrateGraphDatabase(database.url);
const generated = performance.now();
await withClient(database.url, async (db) => {
  const seen = `'01J00000000000000000000000', 1, now()`;
  await db.query(
    `INSERT INTO screens (screen_id, app_package, layout_hash, activity, width, height, first_run_id, first_seq,
       first_seen_at, last_run_id, last_seq, last_seen_at, observations)
     SELECT lpad(to_hex(i), 32, '0'), $1, 'h' || i, '.Screen' || (i % 50), 1080, 2400, ${seen}, ${seen}, 1
     FROM generate_series(0, ${SCREENS - 1}) AS i`,
    [APP],
  );
  await db.query(
    `INSERT INTO actions (action_id, screen_id, app_package, action_type, origin, target_selector, target_bounds,
       target_class, target_resource_id, first_run_id, first_seq)
     SELECT lpad(to_hex(1000000 + i * 10 + j), 32, '0'), lpad(to_hex(i), 32, '0'), $1, 'tap', 'discovered',
       '#id/button' || j, ARRAY[0.1, 0.1 * j, 0.9, 0.1 * j + 0.05], 'android.widget.Button', 'id/button' || j,
       '01J00000000000000000000000', 1
     FROM generate_series(0, ${SCREENS - 1}) AS i, generate_series(0, 9) AS j`,
    [APP],
  );
  await db.query(
    `INSERT INTO edges (edge_id, app_package, from_screen_id, action_id, to_screen_id, first_run_id, first_seq,
       first_seen_at, last_run_id, last_seq, last_seen_at, observations)
     SELECT lpad(to_hex(5000000 + i * 10 + j), 32, '0'), $1, lpad(to_hex(i), 32, '0'),
       lpad(to_hex(1000000 + i * 10 + j), 32, '0'),
       lpad(to_hex(CASE WHEN j = 0 THEN (i + 1) % ${SCREENS} ELSE (i * 7919 + j * 104729) % ${SCREENS} END), 32, '0'),
       ${seen}, ${seen}, 1
     FROM generate_series(0, ${SCREENS - 1}) AS i, generate_series(0, 4) AS j`,
    [APP],
  );
  await db.query('ANALYZE');
});
console.log(
  `queries benchmark: ${SCREENS} screens, ${SCREENS * 10} actions, ${SCREENS * 5} edges generated in ${((performance.now() - generated) / 1000).toFixed(1)} s; ${REQUESTS} requests per query`,
);

const graph = await GraphService.start({ GRAPH_DATABASE_URL: database.url, GRAPH_PROJECTION_CONCURRENCY: '0' });
let seed = 42;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % SCREENS;
};
const row = (name: string, value: string) => console.log(`${name.padEnd(40)} ${value}`);

async function measure(name: string, url: () => string, target?: number) {
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const started = performance.now();
    await graph.json('GET', url());
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  row(
    name,
    `p50 ${percentile(times, 0.5).toFixed(1)} ms, p95 ${percentile(times, 0.95).toFixed(1)} ms${target ? `  (target p95 < ${target} ms)` : ''}`,
  );
}

try {
  const loading = performance.now();
  const first = await graph.json('GET', `/apps/${APP}/path?from=${hex(0)}&to=${hex(SCREENS / 2)}`);
  row(
    'first path query (loads the model)',
    `${(performance.now() - loading).toFixed(0)} ms, ${first.steps.length} steps`,
  );
  await measure('path', () => `/apps/${APP}/path?from=${hex(random())}&to=${hex(random())}`, 20);
  await measure('frontier (limit 50)', () => `/apps/${APP}/frontier?from=${hex(random())}&limit=50`, 20);
  await measure('screen detail', () => `/apps/${APP}/screens/${hex(random())}`, 10);
  await measure('coverage', () => `/apps/${APP}/coverage`);
} finally {
  await graph.stop();
  await database.drop();
}
