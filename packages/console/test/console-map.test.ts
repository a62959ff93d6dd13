import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { run as cli } from '@screengraph/cli';
import { type GraphSummary, ScreenGraphClient } from '@screengraph/client';
import { generateAppGraph, insertAppGraph, ServiceStack, sharedDataDir } from '@screengraph/testing';
import type { Page } from 'playwright-core';
import t from 'tap';
import { type ConsoleWindow, launchBrowser, openPage, screenshot, skipWithoutBrowser } from './browser.js';

const noBrowser = skipWithoutBrowser();
const data = sharedDataDir();
/** The DroidBot run with the most screens and transitions (README: 35 screens, 252 edges). */
const LARGEST_DROIDBOT = 'com.lolo.io.onelist';
if (!data) t.comment(`no ../shared/data beside this checkout: the map is tested on generated graphs only`);

type Cy = NonNullable<ConsoleWindow['__screengraph']>['cy'];
const onMap = <T, A>(page: Page, fn: (cy: Cy, arg: A) => T, arg: A) =>
  page.evaluate(
    ([source, value]) => {
      const cy = (globalThis as unknown as ConsoleWindow).__screengraph?.cy;
      if (!cy) throw new Error('nothing drawn');
      // biome-ignore lint/security/noGlobalEval: the check is passed as source to run in the page
      return eval(`(${source})`)(cy, value);
    },
    [fn.toString(), arg] as const,
  ) as Promise<T>;

/** Waits for the map's layout number `n` (1: the overview) to be drawn. */
const drawn = (page: Page, n: number) => page.locator(`[data-testid=map][data-layouts="${n}"]`).waitFor();

/** What the map draws, counted: groups, screens, and the transitions each kind of edge stands for. */
const counts = (page: Page) =>
  onMap(
    page,
    (cy) => ({
      groups: cy.nodes('.activity').length,
      collapsed: cy.nodes('.activity.collapsed').length,
      screens: cy.nodes('.screen').length,
      transitions: cy.edges('.transition').length,
      merged: cy.edges('.merged').reduce((sum, edge) => sum + Number(edge.data('count')), 0),
      links: cy.edges('.link').reduce((sum, edge) => sum + Number(edge.data('count')), 0),
      groupScreens: Object.fromEntries(
        cy.nodes('.activity').map((node) => [node.data('activity'), node.data('screens')]),
      ),
      groupUnexplored: Object.fromEntries(
        cy.nodes('.activity').map((node) => [node.data('activity'), node.data('unexplored')]),
      ),
    }),
    null,
  );

/** Taps a node where it is drawn (its centre, after centring the view on it). */
async function tap(page: Page, id: string) {
  const point = await onMap(
    page,
    (cy, nodeId: string) => {
      const node = cy.getElementById(nodeId);
      if (node.empty()) return null;
      cy.center(node);
      return node.renderedPosition();
    },
    id,
  );
  const box = await page.getByTestId('map').boundingBox();
  if (!point || !box) throw new Error(`${id} is not drawn`);
  await page.mouse.click(box.x + point.x, box.y + point.y);
}

/** The screens not faded, once there are `count` of them. */
async function litScreens(page: Page, count: number): Promise<Set<string>> {
  await page.waitForFunction(
    (n) => (globalThis as unknown as ConsoleWindow).__screengraph?.cy.nodes('.screen').not('.faded').length === n,
    count,
  );
  return new Set(
    await onMap(
      page,
      (cy) =>
        cy
          .nodes('.screen')
          .not('.faded')
          .map((node) => node.id()),
      null,
    ),
  );
}

/** Selects a screen through its link (the page's hash), as a bookmark would, and waits for its detail. */
async function select(page: Page, appPackage: string, screenId: string) {
  await page.evaluate(
    (id) => {
      (globalThis as unknown as { location: { hash: string } }).location.hash = `#/apps/${id.app}/screens/${id.screen}`;
    },
    { app: appPackage, screen: screenId },
  );
  await page.locator(`[data-testid=screen-detail][data-screen-id="${screenId}"]`).waitFor();
}

/** Expected of a graph: screens and unexplored actions per activity, transitions across activities, neighbourhoods. */
/** What the tests need of a graph, generated or read from the graph service. */
interface GraphShape {
  screens: { screenId: string; activity: string | null }[];
  edges: { fromScreenId: string; actionId: string; toScreenId: string }[];
  actions: { actionId: string; screenId: string }[];
}

function expectations(graph: GraphShape) {
  const activityOf = new Map(graph.screens.map((screen) => [screen.screenId, screen.activity ?? '']));
  const screens: Record<string, number> = {};
  for (const screen of graph.screens) screens[screen.activity ?? ''] = (screens[screen.activity ?? ''] ?? 0) + 1;
  const explored = new Set(graph.edges.map((edge) => edge.actionId));
  const unexplored: Record<string, number> = {};
  for (const key of Object.keys(screens)) unexplored[key] = 0;
  for (const action of graph.actions)
    if (!explored.has(action.actionId)) {
      const key = activityOf.get(action.screenId) ?? '';
      unexplored[key] = (unexplored[key] ?? 0) + 1;
    }
  const within = (activity: string) =>
    graph.edges.filter(
      (edge) => activityOf.get(edge.fromScreenId) === activity && activityOf.get(edge.toScreenId) === activity,
    ).length;
  const across = graph.edges.filter(
    (edge) => activityOf.get(edge.fromScreenId) !== activityOf.get(edge.toScreenId),
  ).length;
  const neighbours = (center: string, hops: number) => {
    const found = new Set([center]);
    let ring = [center];
    for (let hop = 0; hop < hops; hop++) {
      const next: string[] = [];
      for (const edge of graph.edges)
        for (const [a, b] of [
          [edge.fromScreenId, edge.toScreenId],
          [edge.toScreenId, edge.fromScreenId],
        ] as const)
          if (ring.includes(a) && !found.has(b)) {
            found.add(b);
            next.push(b);
          }
      ring = next;
    }
    return found;
  };
  return { activityOf, screens, unexplored, within, across, neighbours };
}

t.test(
  'the map of a large app, in Chromium: overview, groups, focus, path, frontier',
  { skip: noBrowser },
  async (t) => {
    const stack = await ServiceStack.start(t);
    const client = new ScreenGraphClient({ runsUrl: stack.runsUrl, graphUrl: stack.graphUrl });
    const generated = [
      generateAppGraph({ appPackage: 'com.example.map500', screens: 500, activities: 20, seed: 5 }),
      generateAppGraph({ appPackage: 'com.example.map5000', screens: 5000, activities: 60, seed: 50 }),
    ];
    for (const graph of generated) await insertAppGraph(stack.graphDatabase.url, graph);
    const apps: { appPackage: string; graph: GraphShape }[] = generated.map((graph) => ({
      appPackage: graph.appPackage,
      graph,
    }));
    if (data) {
      const stdout = new PassThrough();
      const code = await cli(['import', 'droidbot', join(data, 'droidbot', LARGEST_DROIDBOT), '--json'], {
        stdout,
        stderr: new PassThrough(),
        env: { RUNS_URL: stack.runsUrl, GRAPH_URL: stack.graphUrl },
      });
      t.equal(code, 0, `${LARGEST_DROIDBOT} imported`);
      const graph = await client.graph.graph(LARGEST_DROIDBOT);
      apps.push({ appPackage: LARGEST_DROIDBOT, graph });
    }

    const browser = await launchBrowser(t);
    for (const { appPackage, graph } of apps) {
      await t.test(`${appPackage}: ${graph.screens.length} screens`, async (t) => {
        const expected = expectations(graph);
        const summary: GraphSummary = await client.graph.summary(appPackage);
        const errors: string[] = [];
        const page = await openPage(browser, errors);
        const requests: string[] = [];
        page.on('request', (request) => requests.push(new URL(request.url()).pathname));
        const name = appPackage.replace(/^com\.(example\.)?/, '');

        await page.goto(`${stack.graphUrl}/console/#/apps/${appPackage}`);
        await drawn(page, 1);
        const timing = await page.evaluate(() => {
          // The page's Performance API (this file is typed for Node's).
          const timeline = performance as unknown as {
            getEntriesByType(type: string): { name: string; responseEnd: number; domContentLoadedEventEnd: number }[];
            getEntriesByName(name: string): { startTime: number }[];
          };
          const at = (pattern: string) =>
            timeline
              .getEntriesByType('resource')
              .find((entry) => entry.name.includes(pattern))
              ?.responseEnd.toFixed(0) ?? '?';
          return {
            drawn: timeline.getEntriesByName('screengraph:map-drawn')[0]?.startTime ?? Number.NaN,
            loaded: timeline.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd.toFixed(0) ?? '?',
            summary: at('/summary'),
            layout: at('map-layout'),
          };
        });
        t.comment(
          `${appPackage}: time to first overview ${Math.round(timing.drawn)} ms from navigation (page loaded at ${timing.loaded} ms, summary answered at ${timing.summary} ms, layout script at ${timing.layout} ms)`,
        );

        await t.test('the overview: one group per activity, with its counts, and the links between them', async (t) => {
          const drawn = await counts(page);
          t.equal(drawn.groups, Object.keys(expected.screens).length, 'one group per activity');
          t.same(drawn.groupScreens, expected.screens, 'each with its screens');
          t.same(drawn.groupUnexplored, expected.unexplored, 'and its unexplored actions');
          t.equal(drawn.screens, 0, 'no screen drawn yet');
          t.equal(drawn.links, expected.across, 'every transition across activities, counted on the links');
          t.notOk(
            requests.some((path) => path.endsWith('/graph')),
            'the whole graph is never fetched: the summary only',
          );
          const rows = page.locator('[data-testid=activity-list] tbody tr');
          t.equal(await rows.count(), drawn.groups, 'the activity list');
          const first = summary.activities[0];
          if (first) {
            const row = page.locator(`[data-testid=activity-list] tr[data-activity="${first.activity ?? ''}"]`);
            t.equal(await row.locator('td.screens').textContent(), String(first.screens));
            t.equal(await row.locator('td.unexplored').textContent(), String(first.actions - first.exploredActions));
          }
          await screenshot(t, page, `map-${name}-overview`);
        });

        // The activity with the most screens (at most 400: what a group shows at once).
        const opened = Object.entries(expected.screens)
          .filter(([, count]) => count <= 400)
          .reduce((a, b) => (b[1] > a[1] ? b : a))[0];
        await t.test(`opening ${opened.split('.').at(-1)} shows its screens`, async (t) => {
          await tap(page, `activity:${opened}`);
          await drawn(page, 2);
          const drawnNow = await counts(page);
          t.equal(drawnNow.screens, expected.screens[opened], 'its screens');
          const parents = await onMap(
            page,
            (cy) => [...new Set(cy.nodes('.screen').map((node) => node.parent().first().id()))],
            null,
          );
          t.same(parents, [`activity:${opened}`], 'inside its group');
          t.equal(drawnNow.transitions, expected.within(opened), 'the transitions between them');
          t.equal(
            drawnNow.transitions + drawnNow.merged + drawnNow.links,
            expected.within(opened) + expected.across,
            'every transition drawn once: inside the group, to other groups (merged), or between groups',
          );
          await screenshot(t, page, `map-${name}-group`);
        });

        // A screen of the open group with several neighbours.
        const focused =
          graph.screens
            .filter((screen) => (screen.activity ?? '') === opened)
            .map((screen) => screen.screenId)
            .find((id) => expected.neighbours(id, 1).size >= 3) ?? graph.screens[0]?.screenId;
        await t.test('selecting a screen focuses on its neighbourhood, two hops either way', async (t) => {
          if (!focused) return t.fail('no screen to focus on');
          await tap(page, focused);
          await page.locator(`[data-testid=screen-detail][data-screen-id="${focused}"]`).waitFor();
          await page.waitForFunction(
            (id) => (globalThis as unknown as ConsoleWindow).__screengraph?.cy.getElementById(id).hasClass('focus'),
            focused,
          );
          const around = expected.neighbours(focused, 2);
          t.same(
            await litScreens(page, around.size),
            around,
            `the ${around.size} screens within two hops, the rest faded`,
          );
          await page.selectOption('select[name=hops]', '1');
          const near = expected.neighbours(focused, 1);
          t.same(await litScreens(page, near.size), near, `one hop: the ${near.size} screens next to it`);
          await page.selectOption('select[name=hops]', '2');
          await page.waitForTimeout(400); // the view's zoom to what is lit, for the screenshot only
          await screenshot(t, page, `map-${name}-focus`);
        });

        await t.test('the nearest unexplored actions from it, each with its path', async (t) => {
          if (!focused) return;
          const frontier = await client.graph.frontier(appPackage, { from: focused, limit: 12 });
          const items = page.locator('[data-testid=frontier-list] li');
          await items.first().waitFor();
          t.same(
            await items.evaluateAll((elements) => elements.map((element) => element.getAttribute('data-action-id'))),
            frontier.actions.map((entry) => entry.actionId),
            'the frontier API’s answer, nearest first',
          );
          const far = frontier.actions.find((entry) => (entry.distance ?? 0) >= 1);
          if (!far) return t.comment('every unexplored action is on the focused screen');
          await page.locator(`[data-testid=frontier-list] li[data-action-id="${far.actionId}"] button`).click();
          await page.waitForFunction(
            (n) => (globalThis as unknown as ConsoleWindow).__screengraph?.cy.edges('.on-path').length === n,
            far.distance,
          );
          t.pass(`its path of ${far.distance} steps highlighted`);
          await page.waitForTimeout(400); // the view's zoom to what is lit, for the screenshot only
          await screenshot(t, page, `map-${name}-frontier`);
          await page.locator(`[data-testid=frontier-list] li[data-action-id="${far.actionId}"] button`).click();
        });

        await t.test('the path between two screens, highlighted on the map', async (t) => {
          const entry = summary.entryScreenId;
          if (!entry || !focused) return t.fail('no entry screen');
          const path = await client.graph.path(appPackage, entry, focused).catch(() => null);
          if (!path || path.steps.length === 0) return t.comment('no path from the entry screen to the focused one');
          await select(page, appPackage, entry);
          await page.getByRole('button', { name: 'Path from here' }).click();
          await select(page, appPackage, focused);
          await page.getByRole('button', { name: 'Path to here' }).click();
          await page.getByTestId('path-steps').waitFor();
          t.equal(Number(await page.getByTestId('path-steps').getAttribute('data-steps')), path.steps.length);
          await page.waitForFunction(
            (n) => (globalThis as unknown as ConsoleWindow).__screengraph?.cy.edges('.on-path').length === n,
            path.steps.length,
          );
          const onPath = await onMap(page, (cy) => cy.nodes('.screen.on-path').map((node) => node.id()), null);
          t.same(
            new Set(onPath),
            new Set([entry, ...path.steps.map((step) => step.toScreenId)]),
            `the ${path.steps.length} steps from the entry screen, their screens loaded into the map`,
          );
          await page.waitForTimeout(400); // the view's zoom to what is lit, for the screenshot only
          await screenshot(t, page, `map-${name}-path`);
        });

        t.notOk(
          requests.some((path) => path.endsWith('/graph')),
          'still never the whole graph',
        );
        t.same(errors, [], 'no errors in the page');
        await page.close();
      });
    }
  },
);
