import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Objm } from '@nats-io/obj';
import { sharedDataDir, skipWithoutSharedData, withClient, withNats } from '@screengraph/testing';
import t from 'tap';
import { build, type RunsTestApp, runningRun, TEST_NATS_URL } from './helpers/build.js';

const noData = skipWithoutSharedData();

/** Object names in the test's bucket: content objects (sha256) and links (artifacts/<id>). */
async function objectNames(app: RunsTestApp): Promise<string[]> {
  return withNats(TEST_NATS_URL, async (nc) => {
    const objm = new Objm(nc);
    const store = await objm.open(app.options.artifactsBucket).catch(() => null);
    if (!store) return [];
    const names: string[] = [];
    for (const info of await store.list()) names.push(info.name);
    return names.sort();
  });
}

const rowCount = (app: RunsTestApp) =>
  withClient(app.databaseUrl, async (db) => (await db.query('SELECT count(*)::int AS n FROM run_artifacts')).rows[0].n);

function upload(app: RunsTestApp, runId: string, kind: string, contentType: string, payload: Buffer | string) {
  return app.inject({
    method: 'POST',
    url: `/runs/${runId}/artifacts?kind=${kind}`,
    headers: { 'content-type': contentType },
    payload,
  });
}

t.test('real screenshots and hierarchies go in and come back byte for byte', { skip: noData }, async (t) => {
  const app = await build(t, { relayConcurrency: 0 });
  const runId = await runningRun(app);
  const dir = join(sharedDataDir() ?? '', 'uiautomator', 'cn.wps.moffice_eng');
  const files = readdirSync(dir).slice(0, 6);
  for (const file of files) {
    const bytes = readFileSync(join(dir, file));
    const [kind, type] = file.endsWith('.xml') ? ['ui_hierarchy', 'application/xml'] : ['screenshot', 'image/png'];
    const created = await upload(app, runId, kind as string, type as string, bytes);
    t.equal(created.statusCode, 201, file);
    const artifact = created.json();
    t.match(artifact, { runId, kind, contentType: type, byteSize: bytes.length });
    t.equal(artifact.sha256, createHash('sha256').update(bytes).digest('hex'));
    const content = await app.inject(`/runs/${runId}/artifacts/${artifact.artifactId}/content`);
    t.equal(content.statusCode, 200);
    t.ok(content.rawPayload.equals(bytes), `${file}: the same bytes`);
    t.equal(content.headers['content-type'], type);
    t.equal(Number(content.headers['content-length']), bytes.length);
    t.equal(content.headers.etag, `"${artifact.sha256}"`);
    const cached = await app.inject({
      url: `/runs/${runId}/artifacts/${artifact.artifactId}/content`,
      headers: { 'if-none-match': `"${artifact.sha256}"` },
    });
    t.equal(cached.statusCode, 304);
    t.equal(cached.rawPayload.length, 0);
  }
  const listed = (await app.inject(`/runs/${runId}/artifacts`)).json().artifacts;
  t.equal(listed.length, files.length);
});

t.test(
  'the same bytes are stored once, whichever runs upload them; deleting a run keeps what others use',
  async (t) => {
    const app = await build(t, { relayConcurrency: 0 });
    const first = await runningRun(app, 'worker-a', 'com.example.one');
    const second = await runningRun(app, 'worker-b', 'com.example.two');
    const shared = Buffer.from('<hierarchy><node class="a"/></hierarchy>');
    const own = Buffer.from('only the first run has this log');
    const a = (await upload(app, first, 'ui_hierarchy', 'text/xml; charset=utf-8', shared)).json();
    const b = (await upload(app, second, 'ui_hierarchy', 'application/xml', shared)).json();
    const c = (await upload(app, first, 'log', 'text/plain', own)).json();
    t.not(a.artifactId, b.artifactId);
    t.equal(a.sha256, b.sha256);
    t.equal(a.contentType, 'text/xml', 'the media type, without parameters');
    const content = (names: string[]) => names.filter((name) => !name.startsWith('artifacts/'));
    t.same(content(await objectNames(app)), [a.sha256, c.sha256].sort(), 'one object per content');

    const running = await app.inject({ method: 'DELETE', url: `/runs/${first}` });
    t.match(running.json(), { statusCode: 409, code: 'SG_RUN_NOT_FINISHED' });
    await app.inject({ method: 'POST', url: `/runs/${first}/complete`, payload: { workerId: 'worker-a' } });
    const deleted = await app.inject({ method: 'DELETE', url: `/runs/${first}` });
    t.equal(deleted.statusCode, 204);
    t.equal((await app.inject(`/runs/${first}`)).statusCode, 404);
    t.same(
      await objectNames(app),
      [`artifacts/${b.artifactId}`, a.sha256].sort(),
      'the shared bytes stay, the rest go',
    );
    const still = await app.inject(`/runs/${second}/artifacts/${b.artifactId}/content`);
    t.ok(still.rawPayload.equals(shared));
    t.equal(await rowCount(app), 1);
    t.equal((await app.inject({ method: 'DELETE', url: `/runs/${first}` })).statusCode, 404);
  },
);

t.test('refused uploads leave nothing in the index or the bucket', async (t) => {
  const app = await build(t, { relayConcurrency: 0, artifactMaxBytes: 1000 });
  const runId = await runningRun(app);
  const cases: [string, () => ReturnType<typeof upload>, number, string][] = [
    ['too large', () => upload(app, runId, 'log', 'text/plain', 'x'.repeat(1001)), 413, 'SG_BODY_TOO_LARGE'],
    ['empty', () => upload(app, runId, 'log', 'text/plain', ''), 400, 'SG_EMPTY_ARTIFACT'],
    ['unknown kind', () => upload(app, runId, 'video', 'video/mp4', 'x'), 400, 'SG_VALIDATION_FAILED'],
    [
      'a screenshot that says text',
      () => upload(app, runId, 'screenshot', 'text/plain', 'x'),
      400,
      'SG_CONTENT_TYPE_NOT_FOR_KIND',
    ],
    [
      'a hierarchy as a PNG',
      () => upload(app, runId, 'ui_hierarchy', 'image/png', 'x'),
      400,
      'SG_CONTENT_TYPE_NOT_FOR_KIND',
    ],
    [
      'no content type',
      () => app.inject({ method: 'POST', url: `/runs/${runId}/artifacts?kind=other`, payload: 'x' }),
      400,
      'SG_CONTENT_TYPE_NOT_FOR_KIND',
    ],
    [
      'an unknown run',
      () => upload(app, '01JDQ8Z4V4R3W5X6Y7Z8A9B0CD', 'log', 'text/plain', 'x'),
      404,
      'SG_RUN_NOT_FOUND',
    ],
    ['a bad run id', () => upload(app, 'not-a-run', 'log', 'text/plain', 'x'), 400, 'SG_VALIDATION_FAILED'],
  ];
  for (const [name, send, status, code] of cases) {
    const response = await send();
    t.equal(response.statusCode, status, `${name}: ${response.body.slice(0, 120)}`);
    t.equal(response.json().code, code, name);
  }
  t.equal(await rowCount(app), 0);
  t.same(await objectNames(app), []);
  t.match((await app.inject(`/runs/${runId}/artifacts/01JDQ8Z4V4R3W5X6Y7Z8A9B0CD/content`)).json(), {
    statusCode: 404,
    code: 'SG_ARTIFACT_NOT_FOUND',
  });
  t.equal(
    (await upload(app, runId, 'log', 'application/x-ndjson', '{"ok":true}\n')).statusCode,
    201,
    'the service still takes uploads',
  );
});
