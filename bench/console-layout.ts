/**
 * `pnpm bench:console-layout`: which Cytoscape.js layout extension draws the console's map of a
 * large app best: ELK (layered), dagre or fCoSE.
 *
 * Generated app graphs (packages/testing generated-graph.ts: 500 screens over 20 activities, 5,000
 * over 40) are written to a throwaway graph database; the compiled graph service answers the
 * activity summary and the parts of the graph the console fetches; the console's own code
 * (packages/console/src/graph-map.ts, map-layout.ts, layout-bench.ts) builds the elements it draws and lays them
 * out in headless Cytoscape.js, in four views: the overview (one node per activity), the largest
 * activity opened, the 2-hop neighbourhood of the busiest screen, and every group of the
 * 500-screen app opened. For each layout: the time it takes, the share of node pairs at
 * different depths (breadth-first from the entry screen) drawn in depth order left to right,
 * and the share of nodes overlapping a sibling. Environment: BENCH_LAYOUTS (default
 * elk,dagre,fcose).
 */

import type { GraphSummary, Subgraph } from '@screengraph/client';
import { generateAppGraph, insertAppGraph, uniqueDatabase } from '@screengraph/testing';
import { mapElements } from '../packages/console/src/graph-map.js';
import {
  headlessMap,
  layoutQuality,
  MAP_LAYOUTS,
  type MapLayout,
  runLayout,
} from '../packages/console/src/layout-bench.js';
import { migrateGraphDatabase } from '../services/graph/src/migrations.js';
import { GraphService, startBenchmark } from './support.js';

startBenchmark(import.meta.url);

const layouts = (process.env.BENCH_LAYOUTS ?? MAP_LAYOUTS.join(',')).split(',') as MapLayout[];
const database = uniqueDatabase('bench_console_layout');
await migrateGraphDatabase(database.url);
const apps = [
  generateAppGraph({ appPackage: 'com.example.gen500', screens: 500, activities: 20, seed: 5 }),
  generateAppGraph({ appPackage: 'com.example.gen5000', screens: 5000, activities: 40, seed: 50 }),
];
for (const app of apps) await insertAppGraph(database.url, app);
const graph = await GraphService.start({ GRAPH_DATABASE_URL: database.url, GRAPH_PROJECTION_CONCURRENCY: '0' });

type View = { name: string; summary: GraphSummary; parts: Subgraph[] };
const views: View[] = [];
for (const app of apps) {
  const path = `/apps/${app.appPackage}`;
  const summary = (await graph.json('GET', `${path}/summary?leastExplored=0`)) as GraphSummary;
  const size = `${app.screens.length} screens`;
  views.push({ name: `${size}: overview`, summary, parts: [] });
  const largest = summary.activities.reduce((a, b) => (b.screens > a.screens ? b : a));
  const opened = (await graph.json('GET', `${path}/subgraph?activity=${largest.activity}`)) as Subgraph;
  views.push({ name: `${size}: largest activity open (${largest.screens})`, summary, parts: [opened] });
  const degree = new Map<string, number>();
  for (const edge of app.edges)
    for (const id of [edge.fromScreenId, edge.toScreenId]) degree.set(id, (degree.get(id) ?? 0) + 1);
  const busiest = [...degree.entries()].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  const around = (await graph.json('GET', `${path}/subgraph?around=${busiest}&hops=2`)) as Subgraph;
  views.push({ name: `${size}: 2-hop focus (${around.screens.length})`, summary, parts: [around] });
  if (app.screens.length <= 500) {
    const all = await Promise.all(
      summary.activities.map(
        async (activity) =>
          (await graph.json('GET', `${path}/subgraph?activity=${activity.activity ?? ''}`)) as Subgraph,
      ),
    );
    views.push({ name: `${size}: every activity open`, summary, parts: all });
  }
}
await graph.stop();
await database.drop();

// Each layout once before measuring: the first run of each compiles its code.
for (const name of layouts)
  await runLayout(headlessMap(mapElements({ ...views[0], screens: new Map(), edges: new Map() } as never)), name);

console.log('console map layouts, headless Cytoscape.js (time, depth order left to right, nodes overlapping)');
console.log(`${'view'.padEnd(44)} ${layouts.map((name) => name.padEnd(26)).join(' ')}`);
for (const view of views) {
  const data = {
    summary: view.summary,
    screens: new Map(view.parts.flatMap((part) => part.screens.map((screen) => [screen.screenId, screen] as const))),
    edges: new Map(view.parts.flatMap((part) => part.edges.map((edge) => [edge.edgeId, edge] as const))),
  };
  const cells: string[] = [];
  for (const name of layouts) {
    const cy = headlessMap(mapElements(data));
    const started = performance.now();
    await runLayout(cy, name);
    const ms = performance.now() - started;
    const { depthOrder, overlapping } = layoutQuality(cy);
    cells.push(
      `${ms.toFixed(0).padStart(5)} ms ${(depthOrder * 100).toFixed(0).padStart(3)} % ${(overlapping * 100).toFixed(0).padStart(3)} %`.padEnd(
        26,
      ),
    );
    cy.destroy();
  }
  console.log(`${view.name.padEnd(44)} ${cells.join(' ')}`);
}
// Headless Cytoscape.js and the layouts leave timers of their own (process.getActiveResourcesInfo
// lists two Timeouts after every core is destroyed): the benchmark is done.
process.exit(0);
