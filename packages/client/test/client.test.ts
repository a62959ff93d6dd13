import { freePort, ServiceStack } from '@screengraph/testing';
import t from 'tap';
import { type AgentEvent, ApiError, RunsClient, ScreenGraphClient, ServiceUnreachable } from '../src/index.js';
import { FaultProxy } from './helpers/fault-proxy.js';

const APP = 'com.example.client';
const WORKER = 'client-test';
const TOKEN = 'client-test-token-0123456789';

const node = (attributes: string, children = '') => `<node ${attributes} package="${APP}">${children}</node>`;
const screenXml = (title: string, buttons: string[]) =>
  `<hierarchy rotation="0">${node(
    'class="android.widget.FrameLayout" bounds="[0,0][1080,2400]"',
    node(`class="android.widget.TextView" resource-id="${APP}:id/title" text="${title}" bounds="[0,0][1080,200]"`) +
      buttons
        .map((name, i) =>
          node(
            `class="android.widget.Button" resource-id="${APP}:id/${name}" text="${name}" clickable="true" bounds="[0,${300 + i * 200}][1080,${480 + i * 200}]"`,
          ),
        )
        .join(''),
  )}</hierarchy>`;

const observe = (title: string, buttons: string[]): AgentEvent => ({
  type: 'screen.observed',
  data: { hierarchyXml: screenXml(title, buttons), activity: `.${title}Activity` },
});
const tap = (name: string, index: number): AgentEvent => ({
  type: 'action.performed',
  data: {
    actionType: 'tap',
    target: { bounds: [0, 300 + index * 200, 1080, 480 + index * 200], resourceId: `${APP}:id/${name}` },
  },
});

t.test('an agent drives a whole run through the client, and its team queries the graph', async (t) => {
  const stack = await ServiceStack.start(t, { token: TOKEN });
  const client = new ScreenGraphClient({ runsUrl: stack.runsUrl, graphUrl: stack.graphUrl, token: TOKEN });
  t.ok(await client.runs.ready(), 'runs service ready');
  t.ok(await client.graph.ready(), 'graph service ready');

  const created = await client.runs.createRun(APP, { strategy: 'scripted' });
  t.equal(created.status, 'queued');
  const claimed = await client.runs.claim(WORKER, APP);
  t.equal(claimed?.runId, created.runId, 'claimed the run');
  t.equal(await client.runs.claim(WORKER, APP), null, 'nothing else queued: null');

  const runId = created.runId;
  const watching = (async () => {
    const seen: string[] = [];
    for await (const event of client.runs.watch(runId)) seen.push(`${event.seq}:${event.type}`);
    return seen;
  })();

  const screenshot = new Uint8Array(Buffer.from('not really a png, but bytes all the same'));
  const artifact = await client.runs.uploadArtifact(runId, 'other', screenshot, 'application/octet-stream');
  t.equal(artifact.byteSize, screenshot.byteLength);
  const downloaded = await client.runs.downloadArtifact(runId, artifact.artifactId);
  t.same(Buffer.from(downloaded.bytes), Buffer.from(screenshot), 'bytes come back');
  t.same(
    (await client.runs.listArtifacts(runId)).map((a) => a.artifactId),
    [artifact.artifactId],
  );

  const first = await client.runs.append(runId, WORKER, [observe('Home', ['settings', 'search']), tap('settings', 0)]);
  t.same([first.firstSeq, first.lastSeq], [3, 4], 'seqs after run.created and run.started');
  await client.runs.saveSnapshot(runId, { workerId: WORKER, seq: 4, state: { visited: 1 } });
  const rest = await client.runs.appendAll(
    runId,
    WORKER,
    [
      observe('Settings', ['back']),
      { type: 'action.performed', data: { actionType: 'back' } },
      observe('Home', ['settings', 'search']),
    ],
    2,
  );
  t.equal(rest?.lastSeq, 7, 'appendAll in batches of 2');
  await client.runs.heartbeat(runId, WORKER);
  const completed = await client.runs.complete(runId, WORKER);
  t.equal(completed.status, 'completed');
  t.equal((await client.runs.complete(runId, WORKER)).status, 'completed', 'completing again is a retry, not an error');

  t.same(
    await watching,
    [
      '1:run.created',
      '2:run.started',
      '3:screen.observed',
      '4:action.performed',
      '5:screen.observed',
      '6:action.performed',
      '7:screen.observed',
      '8:run.completed',
    ],
    'the live stream gave every event once, in order, and ended with the run',
  );
  const afterWatch: number[] = [];
  for await (const event of client.runs.watch(runId, { afterSeq: 6 })) afterWatch.push(event.seq);
  t.same(afterWatch, [7, 8], 'watching a finished run from a seq gives the rest and ends');

  const stored: number[] = [];
  for await (const event of client.runs.allEvents(runId)) stored.push(event.seq);
  t.same(stored, [1, 2, 3, 4, 5, 6, 7, 8]);
  const replay = await client.runs.replay(runId);
  t.equal(replay.snapshot?.seq, 4, 'replay starts at the snapshot');
  t.same(
    replay.events.map((e) => e.seq),
    [5, 6, 7, 8],
  );
  t.equal(await client.runs.latestSnapshot(runId, 3), null, 'no snapshot at or before seq 3: null');
  const runs: string[] = [];
  for await (const run of client.runs.allRuns({ appPackage: APP })) runs.push(run.runId);
  t.same(runs, [runId]);

  const projection = await client.graph.waitForProjection(runId, { timeoutMs: 30_000 });
  t.equal(projection.projectedSeq, 8, 'projected to the end');
  const coverage = await client.graph.coverage(APP);
  t.same([coverage.screens, coverage.edges, coverage.runs], [2, 2, 1], 'two screens, two edges, one run');
  const [apps] = await client.graph.apps();
  t.equal(apps?.appPackage, APP);
  const page = await client.graph.screens(APP);
  const home = page.screens.find((s) => s.activity === '.HomeActivity');
  const settings = page.screens.find((s) => s.activity === '.SettingsActivity');
  if (!home || !settings) throw new Error('screens missing');
  t.equal((await client.graph.lookup(APP, home.layoutHash))?.screen.screenId, home.screenId, 'lookup by layout hash');
  t.equal(await client.graph.lookup(APP, 'no-such-hash'), null, 'an unknown hash: null');
  const path = await client.graph.path(APP, home.screenId, settings.screenId);
  t.same(
    path?.steps.map((s) => s.actionType),
    ['tap'],
    'one tap from home to settings',
  );
  const frontier = await client.graph.frontier(APP, { from: home.screenId });
  t.ok(
    frontier.actions.some((a) => a.screenId === home.screenId && a.distance === 0),
    'search is unexplored on home',
  );
  const detail = await client.graph.screen(APP, settings.screenId);
  t.equal(detail.incoming.length, 1, 'settings is reached by one edge');
  const dot = await new Response(await client.graph.export(APP, 'dot')).text();
  t.match(dot, /^digraph/, 'DOT export streams');
  t.equal((await client.graph.graph(APP)).screens.length, 2);

  const error = await client.graph.screen(APP, '0'.repeat(32)).catch((e: unknown) => e);
  t.ok(
    error instanceof ApiError && error.status === 404 && error.code === 'SG_SCREEN_NOT_FOUND',
    'a stable error code',
  );
  const rebuilt = await client.graph.rebuild(APP);
  t.equal(rebuilt.events, 8, 'rebuild replays the run');
  t.equal((await client.graph.coverage(APP)).screens, 2, 'and gives the same graph');

  await client.runs.deleteRun(runId);
  const gone = await client.runs.getRun(runId).catch((e: unknown) => e);
  t.equal((gone as ApiError).code, 'SG_RUN_NOT_FOUND', 'deleted');

  const anonymous = new RunsClient({ url: stack.runsUrl });
  const refused = await anonymous.listRuns().catch((e: unknown) => e);
  t.equal((refused as ApiError).status, 401, 'without the token: 401, not retried');
});

t.test('retries: a dropped connection, a 503 and a refused connection; never a 4xx', async (t) => {
  const stack = await ServiceStack.start(t);
  const proxy = await FaultProxy.start(stack.runsUrl, t);
  const runs = new RunsClient({ url: proxy.url, retry: { initialDelayMs: 10, maxDelayMs: 50 } });
  const run = await runs.createRun(APP);
  proxy.inject('drop-after-forward', (method, path) => `${method} ${path}` === `POST /runs/${run.runId}/claim`);
  t.equal((await runs.claimRun(run.runId, WORKER)).status, 'running', 'claimed, the lost answer retried');
  const count = (what: string) => proxy.forwarded.filter((line) => line === what).length;
  const appendPath = `POST /runs/${run.runId}/events`;

  proxy.inject('drop-after-forward', (method, path) => `${method} ${path}` === appendPath);
  const events = Array.from({ length: 20 }, (_, i) => observe(`Screen${i}`, ['ok']));
  const result = await runs.append(run.runId, WORKER, events);
  t.equal(count(appendPath), 2, 'the append reached the service twice: the first answer was lost');
  t.same([result.firstSeq, result.lastSeq], [3, 22], 'the retry got the seqs of the first attempt');
  const page = await runs.events(run.runId, { limit: 1000 });
  t.same(
    page.events.map((e) => e.seq),
    Array.from({ length: 22 }, (_, i) => i + 1),
    'each event stored once',
  );
  t.equal(new Set(page.events.map((e) => e.eventId)).size, 22);

  proxy.inject('unavailable', (method, path) => `${method} ${path}` === appendPath);
  proxy.inject('unavailable', (method, path) => `${method} ${path}` === appendPath);
  const after503 = await runs.append(run.runId, WORKER, [observe('Again', ['ok'])]);
  t.equal(after503.lastSeq, 23, 'two 503s, then stored');

  proxy.inject('drop-after-forward', (method, path) => `${method} ${path}` === 'POST /runs');
  const lost = await runs.createRun(APP).catch((e: unknown) => e);
  t.ok(lost instanceof Error && !(lost instanceof ApiError), 'creating a run is not retried once it may have happened');
  t.equal(count('POST /runs'), 2, 'sent once (plus the first run)');

  const before = count(appendPath);
  const invalid = await runs
    .append(run.runId, WORKER, [{ type: 'action.performed', data: { actionType: 'warp' } } as unknown as AgentEvent])
    .catch((e: unknown) => e);
  t.equal((invalid as ApiError).status, 400, 'a bad event: 400');
  t.equal(count(appendPath), before + 1, 'a 4xx is not retried');

  const nowhere = new RunsClient({
    url: `http://127.0.0.1:${await freePort()}`,
    retry: { retries: 2, initialDelayMs: 1, maxDelayMs: 5 },
  });
  const unreachable = await nowhere.createRun(APP).catch((e: unknown) => e);
  t.ok(unreachable instanceof ServiceUnreachable, 'a refused connection is retried, then reported');
  t.equal((unreachable as ServiceUnreachable).attempts, 3);
  t.notOk(await nowhere.ready(), 'not ready');
});
