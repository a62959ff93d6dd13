import { newUlid } from '@screengraph/shared';
import { withClient } from '@screengraph/testing';
import t from 'tap';
import { build, runningRun, screen, tap, WORKER } from './helpers/build.js';

interface BadInput {
  name: string;
  method?: 'GET' | 'POST';
  url: string | ((runId: string) => string);
  body?: unknown;
  rawBody?: string;
  contentType?: string;
  status: number;
  code: string;
}

const UNKNOWN_RUN = '01JDQ8Z4V4R3W5X6Y7Z8A9B0CD';
const events = (...list: unknown[]) => ({ workerId: WORKER, events: list });
const append = (runId: string) => `/runs/${runId}/events`;
const duplicateId = newUlid();

const cases: BadInput[] = [
  {
    name: 'malformed JSON',
    url: '/runs',
    rawBody: '{"appPackage": "com.a.b",',
    status: 400,
    code: 'SG_MALFORMED_JSON',
  },
  { name: 'empty JSON body', url: '/runs', rawBody: '', status: 400, code: 'SG_MALFORMED_JSON' },
  {
    name: 'text/plain body',
    url: '/runs',
    rawBody: 'com.a.b',
    contentType: 'text/plain',
    status: 415,
    code: 'SG_UNSUPPORTED_MEDIA_TYPE',
  },
  { name: 'missing appPackage', url: '/runs', body: {}, status: 400, code: 'SG_VALIDATION_FAILED' },
  {
    name: 'appPackage of the wrong type',
    url: '/runs',
    body: { appPackage: 42 },
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'appPackage with one segment',
    url: '/runs',
    body: { appPackage: 'yelp' },
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'appPackage segment starting with a digit',
    url: '/runs',
    body: { appPackage: 'com.1bad.app' },
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'appPackage with path traversal',
    url: '/runs',
    body: { appPackage: '../../etc/passwd' },
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'appPackage SQL-looking',
    url: '/runs',
    body: { appPackage: "com.a'; DROP TABLE runs;--" },
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'unknown field on create',
    url: '/runs',
    body: { appPackage: 'com.a.b', priority: 1 },
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'config that is an array',
    url: '/runs',
    body: { appPackage: 'com.a.b', config: [1] },
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'prototype poisoning',
    url: '/runs',
    rawBody: '{"appPackage":"com.a.b","__proto__":{"x":1}}',
    status: 400,
    code: 'SG_MALFORMED_JSON',
  },
  {
    name: 'body over the size limit',
    url: '/runs',
    body: { appPackage: 'com.a.b', config: { blob: 'x'.repeat(1024 * 1024) } },
    status: 413,
    code: 'SG_BODY_TOO_LARGE',
  },
  {
    name: 'run id that is not a ULID',
    method: 'GET',
    url: '/runs/not-a-ulid',
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'run id with a path traversal',
    method: 'GET',
    url: '/runs/..%2F..%2Fetc',
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'lower-case run id',
    method: 'GET',
    url: `/runs/${UNKNOWN_RUN.toLowerCase()}`,
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  { name: 'unknown run', method: 'GET', url: `/runs/${UNKNOWN_RUN}`, status: 404, code: 'SG_RUN_NOT_FOUND' },
  { name: 'limit of 0', method: 'GET', url: '/runs?limit=0', status: 400, code: 'SG_VALIDATION_FAILED' },
  {
    name: 'limit that is not a number',
    method: 'GET',
    url: '/runs?limit=abc',
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'unknown status filter',
    method: 'GET',
    url: '/runs?status=paused',
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'unknown query parameter',
    method: 'GET',
    url: '/runs?colour=red',
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'negative afterSeq',
    method: 'GET',
    url: (id) => `${append(id)}?afterSeq=-1`,
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  { name: 'claim without workerId', url: '/runs/claim', body: {}, status: 400, code: 'SG_VALIDATION_FAILED' },
  {
    name: 'claim with an empty workerId',
    url: '/runs/claim',
    body: { workerId: '' },
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'workerId with a newline (header/log injection)',
    url: '/runs/claim',
    body: { workerId: 'w1\nX-Admin: 1' },
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'fail without a reason',
    url: (id) => `/runs/${id}/fail`,
    body: { workerId: WORKER },
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'complete with an unknown field',
    url: (id) => `/runs/${id}/complete`,
    body: { workerId: WORKER, force: true },
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'complete an unknown run',
    url: `/runs/${UNKNOWN_RUN}/complete`,
    body: { workerId: WORKER },
    status: 404,
    code: 'SG_RUN_NOT_FOUND',
  },
  {
    name: 'append to an unknown run',
    url: append(UNKNOWN_RUN),
    body: events(screen()),
    status: 404,
    code: 'SG_RUN_NOT_FOUND',
  },
  { name: 'append no events', url: append, body: events(), status: 400, code: 'SG_VALIDATION_FAILED' },
  {
    name: 'append 501 events',
    url: append,
    body: events(...Array.from({ length: 501 }, () => screen())),
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'append a lifecycle event',
    url: append,
    body: events({ type: 'run.completed', data: { workerId: WORKER } }),
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'append an unknown event type',
    url: append,
    body: events({ type: 'screen.exploded', data: {} }),
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'event data with an unknown field',
    url: append,
    body: events({ type: 'screen.observed', data: { colour: 'red' } }),
    status: 400,
    code: 'SG_INVALID_EVENT_DATA',
  },
  {
    name: 'event data that is a string',
    url: append,
    body: events({ type: 'screen.observed', data: 'hello' }),
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'unknown action type',
    url: append,
    body: events({ type: 'action.performed', data: { actionType: 'teleport' } }),
    status: 400,
    code: 'SG_INVALID_EVENT_DATA',
  },
  {
    name: 'bounds with three numbers',
    url: append,
    body: events({ type: 'action.performed', data: { actionType: 'tap', target: { bounds: [1, 2, 3] } } }),
    status: 400,
    code: 'SG_INVALID_EVENT_DATA',
  },
  {
    name: 'both inline and artifact hierarchy',
    url: append,
    body: events({ type: 'screen.observed', data: { hierarchyXml: '<hierarchy/>', hierarchyArtifactId: newUlid() } }),
    status: 400,
    code: 'SG_INVALID_EVENT_DATA',
  },
  {
    name: 'a bad perceptual hash',
    url: append,
    body: events({ type: 'screen.observed', data: { perceptualHash: 'xyz' } }),
    status: 400,
    code: 'SG_INVALID_EVENT_DATA',
  },
  {
    name: 'an event id that is not a ULID',
    url: append,
    body: events({ eventId: 'event-1', ...screen() }),
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'the same event id twice in a batch',
    url: append,
    body: events({ eventId: duplicateId, ...screen() }, { eventId: duplicateId, ...tap() }),
    status: 400,
    code: 'SG_DUPLICATE_EVENT_ID',
  },
  {
    name: 'a negative expectedSeq',
    url: append,
    body: { ...events(screen()), expectedSeq: -1 },
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'an occurredAt that is not a timestamp',
    url: append,
    body: events({ ...screen(), occurredAt: 'yesterday' }),
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'one bad event in an otherwise good batch',
    url: append,
    body: events(screen(), tap(), { type: 'action.performed', data: {} }),
    status: 400,
    code: 'SG_INVALID_EVENT_DATA',
  },
  {
    name: 'an inline hierarchy too big for one NATS message',
    url: append,
    body: events({ type: 'screen.observed', data: { hierarchyXml: 'x'.repeat(300_001) } }),
    status: 400,
    code: 'SG_INVALID_EVENT_DATA',
  },
  { name: 'an unknown route', method: 'GET', url: '/runz', status: 404, code: 'SG_ROUTE_NOT_FOUND' },
  {
    name: 'a snapshot ahead of the run',
    url: (runId) => `/runs/${runId}/snapshots`,
    body: { workerId: WORKER, seq: 99, state: {} },
    status: 409,
    code: 'SG_SNAPSHOT_AHEAD',
  },
  {
    name: 'a snapshot by another worker',
    url: (runId) => `/runs/${runId}/snapshots`,
    body: { workerId: 'someone-else', seq: 1, state: {} },
    status: 409,
    code: 'SG_WORKER_MISMATCH',
  },
  {
    name: 'a snapshot whose state is not an object',
    url: (runId) => `/runs/${runId}/snapshots`,
    body: { workerId: WORKER, seq: 1, state: [1, 2] },
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'a snapshot at a negative seq',
    url: (runId) => `/runs/${runId}/snapshots`,
    body: { workerId: WORKER, seq: -1, state: {} },
    status: 400,
    code: 'SG_VALIDATION_FAILED',
  },
  {
    name: 'a snapshot of an unknown run',
    url: `/runs/${UNKNOWN_RUN}/snapshots`,
    body: { workerId: WORKER, seq: 0, state: {} },
    status: 404,
    code: 'SG_RUN_NOT_FOUND',
  },
  {
    name: 'no snapshot yet',
    method: 'GET',
    url: (runId) => `/runs/${runId}/snapshots/latest`,
    status: 404,
    code: 'SG_SNAPSHOT_NOT_FOUND',
  },
  {
    name: 'replay of an unknown run',
    method: 'GET',
    url: `/runs/${UNKNOWN_RUN}/replay`,
    status: 404,
    code: 'SG_RUN_NOT_FOUND',
  },
];

t.test(`${cases.length} bad inputs: each gets its 4xx and code, and the database is unchanged`, async (t) => {
  // No relay: its cursor updates are not something these requests stored.
  const app = await build(t, { relayConcurrency: 0 });
  const runId = await runningRun(app);
  await app.inject({ method: 'POST', url: append(runId), payload: events(screen()) });
  const snapshot = () =>
    withClient(app.databaseUrl, async (db) => {
      const tables = ['runs', 'run_events', 'run_outbox', 'run_state_snapshots', 'run_artifacts'];
      const parts = await Promise.all(
        tables.map(
          async (table) =>
            (await db.query(`SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS h FROM ${table} t`))
              .rows[0].h,
        ),
      );
      return parts.join(',');
    });
  const before = await snapshot();

  for (const c of cases) {
    const url = typeof c.url === 'function' ? c.url(runId) : c.url;
    const payload = c.rawBody ?? (c.body === undefined ? undefined : JSON.stringify(c.body));
    const res = await app.inject({
      method: c.method ?? 'POST',
      url,
      ...(payload === undefined ? {} : { payload, headers: { 'content-type': c.contentType ?? 'application/json' } }),
    });
    t.equal(res.statusCode, c.status, `${c.name}: status (${res.body.slice(0, 200)})`);
    const body = res.json();
    t.equal(body.code, c.code, `${c.name}: code`);
    t.match(body, { statusCode: c.status, error: String, message: String }, `${c.name}: error shape`);
    t.equal(await snapshot(), before, `${c.name}: nothing stored`);
  }
  t.ok(cases.length >= 25);
  const health = await app.inject(`/runs/${runId}`);
  t.equal(health.statusCode, 200, 'the service still answers');
});
