import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { run as cli } from '@screengraph/cli';
import { ScreenGraphClient } from '@screengraph/client';
import { ServiceStack, sharedDataDir } from '@screengraph/testing';
import type { Page } from 'playwright-core';
import t from 'tap';
import {
  type ConsoleWindow,
  eventually,
  type ImageElement,
  launchBrowser,
  openPage,
  screenshot,
  skipWithoutBrowser,
} from './browser.js';

const noBrowser = skipWithoutBrowser();
const data = sharedDataDir();
if (!data) t.comment('no ../shared/data beside this checkout: the console is tested on simulated runs only');

/** 1×1 PNG, the screenshot of the live run when the real ones are not here. */
const TINY_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);

async function runCli(stack: ServiceStack, ...argv: string[]) {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const code = await cli([...argv, '--json'], {
    stdout,
    stderr: new PassThrough(),
    env: { RUNS_URL: stack.runsUrl, GRAPH_URL: stack.graphUrl },
  });
  if (code !== 0) throw new Error(`screengraph ${argv.join(' ')} exited ${code}: ${Buffer.concat(chunks)}`);
  return JSON.parse(Buffer.concat(chunks).toString()) as {
    runId: string;
    appPackage: string;
    graph: { screens: number; edges: number };
  };
}

/** The Cytoscape.js graph the page drew. */
const drawn = (page: Page) =>
  page.evaluate(() => {
    const cy = (globalThis as unknown as ConsoleWindow).__screengraph?.cy;
    if (!cy) return null;
    return {
      screens: cy.nodes('.screen').length,
      transitions: cy.edges('.transition').length,
      unexplored: cy.nodes('.unexplored').length,
      withThumbnail: cy.nodes('.screen[thumb]').length,
      onPath: cy.edges('.on-path').length,
    };
  });

/** Clicks a screen node where it is drawn (its centre, which no other node covers). */
async function clickScreen(page: Page, screenId: string) {
  const point = await page.evaluate((id) => {
    const cy = (globalThis as unknown as ConsoleWindow).__screengraph?.cy;
    const node = cy?.getElementById(id);
    if (!cy || !node || node.empty()) return null;
    cy.center(node);
    return node.renderedPosition();
  }, screenId);
  const box = await page.getByTestId('graph').boundingBox();
  if (!point || !box) throw new Error(`screen ${screenId} is not drawn`);
  await page.mouse.click(box.x + point.x, box.y + point.y);
}

t.test('the web console, in Chromium, against both services', { skip: noBrowser }, async (t) => {
  const stack = await ServiceStack.start(t);
  const client = new ScreenGraphClient({ runsUrl: stack.runsUrl, graphUrl: stack.graphUrl });

  // A finished simulated run, a real DroidBot run when ../shared/data is here, and a live run.
  const simulated = await runCli(stack, 'simulate', '--app', 'com.example.console', '--steps', '150', '--seed', '7');
  const droidbot = data ? await runCli(stack, 'import', 'droidbot', join(data, 'droidbot', 'com.yelp.android')) : null;
  const shown = droidbot ?? simulated;
  let screenshotBytes: Uint8Array = TINY_PNG;
  if (data) {
    const states = join(data, 'droidbot', 'com.yelp.android', 'states');
    const png = (await readdir(states)).find((name) => name.endsWith('.png'));
    if (png) screenshotBytes = await readFile(join(states, png));
  }
  const live = await client.runs.createRun('com.example.live');
  await client.runs.claimRun(live.runId, 'console-agent');
  const shot = await client.runs.uploadArtifact(live.runId, 'screenshot', screenshotBytes, 'image/png');
  await client.runs.append(live.runId, 'console-agent', [
    {
      type: 'screen.observed',
      data: {
        activity: 'com.example.live.MainActivity',
        layoutHash: 'live-home',
        screenshotArtifactId: shot.artifactId,
        width: 1080,
        height: 1920,
      },
    },
  ]);

  const browser = await launchBrowser(t);
  const errors: string[] = [];
  const page = await openPage(browser, errors);
  const consoleUrl = `${stack.graphUrl}/console/`;

  await t.test('the run list shows every run, live, and filters them', async (t) => {
    await page.goto(stack.graphUrl); // `/` leads to the console
    t.equal(new URL(page.url()).pathname, '/console/');
    const rows = page.locator('tr[data-run-id]');
    // The simulated run, the live one, and the DroidBot run when ../shared/data is here.
    const runCount = droidbot ? 3 : 2;
    await rows.nth(runCount - 1).waitFor();
    t.equal(await rows.count(), runCount, `${runCount} runs`);
    const liveRow = page.locator(`tr[data-run-id="${live.runId}"]`);
    t.match(
      await liveRow.locator('td').allTextContents(),
      [live.runId, 'com.example.live', 'running', 'console-agent', '3'],
      'app, status, worker, events',
    );
    // The list refreshes itself: a new event shows in the Events column.
    await client.runs.append(live.runId, 'console-agent', [{ type: 'action.performed', data: { actionType: 'back' } }]);
    await liveRow.locator('td.events', { hasText: '4' }).waitFor();
    await page.selectOption('select[name=status]', 'running');
    await eventually('one running run', async () => (await rows.count()) === 1);
    t.pass('the status filter leaves the running run');
    await screenshot(t, page, 'runs');
    await page.selectOption('select[name=status]', '');
  });

  await t.test('a run page streams new events live, with the latest screenshot and the projection', async (t) => {
    await page.locator(`tr[data-run-id="${live.runId}"] a`).first().click();
    await page.locator('li[data-seq="4"]').waitFor();
    t.match(await page.locator('li[data-seq="3"]').textContent(), /screen\.observed/);
    const image = page.locator('.latest-screen img.screenshot');
    await image.waitFor();
    await eventually(
      'the latest screenshot',
      async () => (await image.evaluate((img) => (img as unknown as ImageElement).naturalWidth)) > 0,
    );
    t.equal(
      await image.getAttribute('src'),
      `/runs-api/runs/${live.runId}/artifacts/${shot.artifactId}/content`,
      'the screenshot of the latest screen, through the console’s runs API',
    );

    await client.runs.append(live.runId, 'console-agent', [
      { type: 'action.performed', data: { actionType: 'tap', targetSelector: 'id/next' } },
      { type: 'screen.observed', data: { activity: 'com.example.live.DetailActivity', layoutHash: 'live-detail' } },
    ]);
    await page.locator('li[data-seq="6"]').waitFor();
    t.match(await page.locator('li[data-seq="6"]').textContent(), /DetailActivity/, 'a new event arrives live');
    await page.getByTestId('projection-progress').filter({ hasText: '6 of 6 events projected' }).waitFor();
    t.match(await page.locator('.latest-screen').textContent(), /sent without a screenshot|DetailActivity/);
    await screenshot(t, page, 'run-live');

    await client.runs.complete(live.runId, 'console-agent');
    await page.locator('.stream-state', { hasText: 'run ended' }).waitFor();
    t.match(await page.locator('li[data-seq="7"]').textContent(), /run\.completed/, 'the stream ends with the run');
  });

  const app = shown.appPackage;
  await t.test(`the graph of ${app} is drawn with its screenshots and unexplored actions`, async (t) => {
    await page.goto(`${consoleUrl}#/apps`);
    await page.locator('.app-card', { hasText: app }).locator('a').click();
    await page.waitForFunction(
      (n) => ((globalThis as unknown as ConsoleWindow).__screengraph?.cy.nodes('.screen').length ?? 0) === n,
      shown.graph.screens,
    );
    const graph = await client.graph.graph(app);
    const explored = new Set(graph.edges.map((edge) => edge.actionId));
    if (droidbot)
      await page.waitForFunction(
        () => ((globalThis as unknown as ConsoleWindow).__screengraph?.cy.nodes('.screen[thumb]').length ?? 0) > 0,
      );
    const counts = await drawn(page);
    t.match(counts, {
      screens: shown.graph.screens,
      transitions: shown.graph.edges,
      unexplored: graph.actions.filter((action) => !explored.has(action.actionId)).length,
    });
    if (droidbot) {
      t.equal(counts?.screens, 15, 'yelp: 15 screens (README table)');
      t.equal(counts?.withThumbnail, graph.screens.filter((screen) => screen.screenshotArtifactId).length);
    }
    await page.fill('input[name=search]', 'Activity');
    await page.getByTestId('search-count').waitFor();
    const expected = graph.screens.filter((screen) => screen.activity?.toLowerCase().includes('activity')).length;
    t.ok(
      Number.parseInt((await page.getByTestId('search-count').textContent()) ?? '', 10) >= expected,
      'search by activity',
    );
    await page.fill('input[name=search]', '');
    await screenshot(t, page, 'app-graph');
  });

  await t.test('clicking a screen opens its detail; two screens show their shortest path', async (t) => {
    const graph = await client.graph.graph(app);
    const start = graph.screens.reduce((first, screen) => (screen.first.seq < first.first.seq ? screen : first));
    // The farthest screen from the run's first one: a path of several steps.
    let far = { screenId: start.screenId, steps: 0 };
    for (const screen of graph.screens) {
      const path = await client.graph.path(app, start.screenId, screen.screenId);
      if (path && path.steps.length > far.steps) far = { screenId: screen.screenId, steps: path.steps.length };
    }
    t.ok(far.steps >= 2, `a path of ${far.steps} steps to show`);

    await clickScreen(page, start.screenId);
    const detail = page.getByTestId('screen-detail');
    await page.locator(`[data-testid=screen-detail][data-screen-id="${start.screenId}"]`).waitFor();
    t.ok(page.url().endsWith(`/screens/${start.screenId}`), 'the screen’s own link');
    const expected = await client.graph.screen(app, start.screenId);
    t.equal(await detail.locator('[data-testid=screen-actions] li').count(), expected.actions.length, 'its actions');
    t.equal(
      await detail.locator('li.unexplored').count(),
      expected.actions.filter((action) => !action.explored).length,
      'unexplored ones marked',
    );
    if (expected.screen.screenshotArtifactId) {
      const image = detail.locator('img.screenshot');
      await eventually(
        'the screen’s screenshot',
        async () => (await image.evaluate((img) => (img as unknown as ImageElement).naturalWidth)) > 0,
      );
      t.pass('its screenshot');
    }
    await detail.getByRole('button', { name: 'Path from here' }).click();

    await clickScreen(page, far.screenId);
    await page.locator(`[data-testid=screen-detail][data-screen-id="${far.screenId}"]`).waitFor();
    await detail.getByRole('button', { name: 'Path to here' }).click();
    await page.getByTestId('path-steps').waitFor();
    t.equal(Number(await page.getByTestId('path-steps').getAttribute('data-steps')), far.steps, 'the steps listed');
    await page.waitForFunction(
      (n) => (globalThis as unknown as ConsoleWindow).__screengraph?.cy.edges('.on-path').length === n,
      far.steps,
    );
    t.equal((await drawn(page))?.onPath, far.steps, 'and highlighted in the graph');
    await screenshot(t, page, 'app-path');
  });

  await t.test('coverage: new screens over each run’s steps, and the explored ratio', async (t) => {
    const coverage = await client.graph.coverage(app);
    const chart = page.getByTestId('coverage-chart');
    await chart.scrollIntoViewIfNeeded();
    t.equal(Number(await chart.getAttribute('data-runs')), coverage.perRun.length);
    t.match(
      (await page.getByTestId('coverage-summary').textContent()) ?? '',
      `${coverage.exploredActions} of ${coverage.actions} actions explored (${Math.round(coverage.exploredRatio * 100)} %)`,
    );
    await screenshot(t, page, 'app-coverage');
  });

  t.same(errors, [], 'no errors in the page');
});

t.test('with a token: the console loads, asks for it, then shows the (empty) data', { skip: noBrowser }, async (t) => {
  const token = 'console-test-token-0123456789';
  const stack = await ServiceStack.start(t, { token });
  const browser = await launchBrowser(t);
  const errors: string[] = [];
  const page = await openPage(browser, errors);
  await page.goto(`${stack.graphUrl}/console/`);
  await page.getByText('This ScreenGraph needs a token').waitFor();
  await page.fill('input[aria-label="API token"]', token);
  await page.getByRole('button', { name: 'Use token' }).click();
  await page.getByText('No runs yet').waitFor();
  t.pass('runs: an empty state that says how to start one');
  await page.goto(`${stack.graphUrl}/console/#/apps`);
  await page.getByText('No app has a screen graph yet').waitFor();
  t.pass('apps: an empty state too');
  await screenshot(t, page, 'empty-with-token');

  await stack.stopService('runs');
  await page.goto(`${stack.graphUrl}/console/#/runs`);
  await page.getByText('A service is unavailable').waitFor();
  t.match(
    (await page.getByRole('alert').textContent()) ?? '',
    /SG_RUNS_SERVICE_UNAVAILABLE.*Check that PostgreSQL, NATS and both services are running/,
    'the runs service away: the page says so and what to check',
  );
  t.equal(await page.locator('.stale-dot').textContent(), 'not updating', 'the list says it is not live');
  await screenshot(t, page, 'runs-service-away');
  // 401s of the first, token-less calls and 503s of the runs service away are all the page met.
  t.same(
    errors.filter((error) => !/\b(401|503)\b/.test(error)),
    [],
    'no other errors',
  );
});
