import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { buildGraphApp } from '../src/app.js';
import { ScriptedAgent, startStack } from './helpers/stack.js';
import { APP, home, settings } from './helpers/tiny-app.js';

/** A console build of the test's own: a page and a hashed asset. */
async function fakeConsole(t: { teardown(fn: () => unknown): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'sg-console-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>ScreenGraph</title>');
  await writeFile(join(dir, 'assets', 'index-AbC123.js'), 'console.log("console")');
  return dir;
}

t.test('thumbnails: a screen’s screenshot, scaled, with an ETag; clear errors otherwise', async (t) => {
  const stack = await startStack(t);
  const agent = await ScriptedAgent.start(stack.runs, APP);
  const png = await sharp({ create: { width: 600, height: 1000, channels: 3, background: '#3366cc' } })
    .png()
    .toBuffer();
  const upload = await stack.runs.inject({
    method: 'POST',
    url: `/runs/${agent.runId}/artifacts?kind=screenshot`,
    headers: { 'content-type': 'image/png' },
    payload: png,
  });
  const screenshotArtifactId = upload.json().artifactId as string;
  await agent.append({
    type: 'screen.observed',
    data: { hierarchyXml: home('Hi', 2), activity: '.MainActivity', screenshotArtifactId },
  });
  await agent.observe(settings(), '.SettingsActivity');
  await stack.projected([agent.runId]);
  const screens = await stack.graphQuery<{ screen_id: string; activity: string }>(
    'SELECT screen_id, activity FROM screens ORDER BY activity',
  );
  const withShot = screens.find((screen) => screen.activity === '.MainActivity')?.screen_id;
  const without = screens.find((screen) => screen.activity === '.SettingsActivity')?.screen_id;
  const url = (screenId: string | undefined, query = '') => `/apps/${APP}/screens/${screenId}/thumbnail${query}`;

  const small = await stack.graph.inject(url(withShot, '?width=120'));
  t.equal(small.statusCode, 200);
  t.equal(small.headers['content-type'], 'image/webp');
  t.match(await sharp(small.rawPayload).metadata(), { format: 'webp', width: 120, height: 200 }, 'scaled, same shape');
  const etag = small.headers.etag as string;
  t.equal(etag, `"${screenshotArtifactId}-120"`);
  const again = await stack.graph.inject({ url: url(withShot, '?width=120'), headers: { 'if-none-match': etag } });
  t.equal(again.statusCode, 304, 'not sent again while the screenshot is the same');
  t.equal(again.body, '');
  const byDefault = await stack.graph.inject(url(withShot));
  t.equal((await sharp(byDefault.rawPayload).metadata()).width, 240, 'default width');

  // Made once per screenshot and width: the store is read once, however many ask, at once or later.
  const read = stack.graph.artifactBytes;
  let reads = 0;
  stack.graph.artifactBytes = (artifactId) => {
    reads++;
    return read(artifactId);
  };
  const together = await Promise.all(Array.from({ length: 5 }, () => stack.graph.inject(url(withShot, '?width=64'))));
  t.same(
    together.map((res) => res.statusCode),
    [200, 200, 200, 200, 200],
  );
  t.ok(together.every((res) => res.rawPayload.equals(together[0]?.rawPayload as Buffer)));
  t.equal((await stack.graph.inject(url(withShot, '?width=120'))).rawPayload.equals(small.rawPayload), true);
  t.equal(reads, 1, 'one read of the screenshot for five requests of a new width, none for a known one');
  stack.graph.artifactBytes = read;

  t.match((await stack.graph.inject(url(without))).json(), { statusCode: 404, code: 'SG_SCREENSHOT_NOT_FOUND' });
  t.match((await stack.graph.inject(url('0'.repeat(32)))).json(), { statusCode: 404, code: 'SG_SCREEN_NOT_FOUND' });
  t.match((await stack.graph.inject(`/apps/com.unknown/screens/${withShot}/thumbnail`)).json(), {
    statusCode: 404,
    code: 'SG_APP_NOT_FOUND',
  });
  t.match((await stack.graph.inject(url(withShot, '?width=8'))).json(), {
    statusCode: 400,
    code: 'SG_VALIDATION_FAILED',
  });
});

t.test('the console is served at /console/, the runs API read-only at /runs-api/', async (t) => {
  const consoleDir = await fakeConsole(t);
  const stack = await startStack(t, { graph: { consoleDir } });
  const agent = await ScriptedAgent.start(stack.runs, APP);
  await agent.observe(home('Hi', 1), '.MainActivity');
  await agent.complete();

  const root = await stack.graph.inject('/');
  t.equal(root.statusCode, 302);
  t.equal(root.headers.location, '/console/');
  t.equal((await stack.graph.inject('/console')).headers.location, '/console/');
  const page = await stack.graph.inject('/console/');
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.equal(page.headers['cache-control'], 'no-cache', 'the page is always revalidated');
  const asset = await stack.graph.inject('/console/assets/index-AbC123.js');
  t.equal(asset.statusCode, 200);
  t.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable', 'hashed assets are cached');

  const direct = await stack.runs.inject(`/runs/${agent.runId}`);
  const proxied = await stack.graph.inject(`/runs-api/runs/${agent.runId}`);
  t.equal(proxied.statusCode, 200);
  t.same(proxied.json(), direct.json(), 'the runs service’s answer');
  t.equal((await stack.graph.inject(`/runs-api/runs/${agent.runId}/nope`)).json().code, 'SG_ROUTE_NOT_FOUND');
  const write = await stack.graph.inject({ method: 'POST', url: '/runs-api/runs', payload: { appPackage: APP } });
  t.equal(write.statusCode, 404, 'no writes through the console’s proxy');
  t.equal((await stack.runs.inject('/runs')).json().runs.length, 1, 'and none happened');

  const stream = await stack.graph.inject(`/runs-api/runs/${agent.runId}/events/stream`);
  t.match(stream.headers['content-type'], /^text\/event-stream/);
  t.same(
    [...stream.body.matchAll(/^event: (.+)$/gm)].map((match) => match[1]),
    ['run.created', 'run.started', 'screen.observed', 'run.completed'],
    'Server-Sent Events pass through, to the run’s end',
  );
});

t.test('without a build, /console/ says how to make one; a runs service away is a 503', async (t) => {
  const consoleDir = await mkdtemp(join(tmpdir(), 'sg-console-empty-'));
  t.teardown(() => rm(consoleDir, { recursive: true, force: true }));
  const stack = await startStack(t);
  const graph = await buildGraphApp(
    { ...stack.graphOptions, consoleDir, runsUrl: 'http://127.0.0.1:9', projectionConcurrency: 0 },
    { logger: false },
  );
  t.teardown(() => graph.close());
  const page = await graph.inject('/console/');
  t.equal(page.statusCode, 503);
  t.match(page.body, /not built\. Run `pnpm build`/);
  const away = await graph.inject('/runs-api/runs');
  t.match(away.json(), { statusCode: 503, code: 'SG_RUNS_SERVICE_UNAVAILABLE' });
});

t.test('with a token: the console’s files are public, every API (and the proxy) needs the token', async (t) => {
  const apiToken = 'graph-console-token-0123456789';
  const consoleDir = await fakeConsole(t);
  const stack = await startStack(t, { runs: { apiToken }, graph: { apiToken, consoleDir, projectionConcurrency: 0 } });
  t.equal((await stack.graph.inject('/')).statusCode, 302);
  t.equal((await stack.graph.inject('/console/')).statusCode, 200);
  t.equal((await stack.graph.inject('/console/assets/index-AbC123.js')).statusCode, 200);
  t.equal((await stack.graph.inject('/apps')).statusCode, 401);
  t.equal((await stack.graph.inject('/runs-api/runs')).statusCode, 401);
  t.equal((await stack.graph.inject('/consolex')).statusCode, 401, 'only the console’s own paths are public');
  const authorization = `Bearer ${apiToken}`;
  t.equal((await stack.graph.inject({ url: '/apps', headers: { authorization } })).statusCode, 200);
  const runs = await stack.graph.inject({ url: '/runs-api/runs', headers: { authorization } });
  t.equal(runs.statusCode, 200, 'the token goes on to the runs service');
  t.same(runs.json().runs, []);
});
