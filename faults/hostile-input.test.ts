import { connect } from 'node:net';
import { RunsClient } from '@screengraph/client';
import { ServiceStack, withClient } from '@screengraph/testing';
import t from 'tap';
import { record } from './harness.js';

const APP = 'com.example.hostile';
const WORKER = 'hostile-agent';

/** A request as raw bytes: whatever a hostile client sends, unchecked by an HTTP client library. */
function raw(url: string, request: Buffer | string): Promise<{ status: number; text: string }> {
  const { port } = new URL(url);
  const bytes = Buffer.isBuffer(request) ? request : Buffer.from(request, 'latin1');
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    // The service may answer and close before a huge body is all sent (413): what it said counts.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    });
    // The head first: a service that refuses by the head alone (a Content-Length over the limit)
    // answers before any body is sent, since body bytes arriving after it closed would make the
    // kernel reset the connection and drop its answer. Then the body in pieces, and no more once
    // it has answered. No half-close: a server may drop a connection whose client said it is done.
    socket.once('connect', async () => {
      const headEnd = bytes.indexOf('\r\n\r\n') + 4;
      socket.write(bytes.subarray(0, headEnd));
      if (bytes.length - headEnd > 1024 * 1024) {
        for (let waited = 0; waited < 2000 && chunks.length === 0; waited += 20) {
          await new Promise((next) => setTimeout(next, 20));
        }
      }
      for (let at = headEnd; at < bytes.length && chunks.length === 0 && !socket.destroyed; at += 64 * 1024) {
        if (!socket.write(bytes.subarray(at, at + 64 * 1024))) await new Promise((next) => socket.once('drain', next));
      }
    });
  });
}

const httpRequest = (method: string, path: string, headers: Record<string, string>, body: Buffer) =>
  Buffer.concat([
    Buffer.from(
      `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: ${body.length}\r\n${Object.entries(
        headers,
      )
        .map(([key, value]) => `${key}: ${value}\r\n`)
        .join('')}\r\n`,
      'latin1',
    ),
    body,
  ]);

t.test('hostile input: each refused with a clear 4xx, nothing stored, both services still healthy', async (t) => {
  const stack = await ServiceStack.start(t);
  const runs = new RunsClient({ url: stack.runsUrl });
  const run = await runs.createRun(APP);
  await runs.claimRun(run.runId, WORKER);
  const events = `/runs/${run.runId}/events`;
  const counts = () =>
    withClient(stack.runsDatabase.url, async (db) => {
      const { rows } = await db.query<{ runs: number; events: number; artifacts: number; snapshots: number }>(
        `SELECT (SELECT count(*) FROM runs)::int AS runs, (SELECT count(*) FROM run_events)::int AS events,
                (SELECT count(*) FROM run_artifacts)::int AS artifacts,
                (SELECT count(*) FROM run_state_snapshots)::int AS snapshots`,
      );
      return rows[0];
    });
  const before = await counts();
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  const nested = `${'['.repeat(100_000)}"deep"${']'.repeat(100_000)}`;
  const deepState = Buffer.from(
    `{"workerId":"${WORKER}","seq":1,"state":{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`,
  );

  const cases: { name: string; request: Buffer; status: number; code?: RegExp; url?: string }[] = [
    {
      name: 'a 50 MB event batch',
      request: httpRequest('POST', events, { 'content-type': 'application/json' }, Buffer.alloc(50 * 1024 * 1024, 32)),
      status: 413,
      code: /SG_BODY_TOO_LARGE/,
    },
    {
      name: 'a 50 MB artifact',
      request: httpRequest(
        'POST',
        `/runs/${run.runId}/artifacts?kind=screenshot`,
        { 'content-type': 'image/png' },
        Buffer.alloc(50 * 1024 * 1024, 1),
      ),
      status: 413,
      code: /SG_BODY_TOO_LARGE/,
    },
    {
      name: 'JSON nested 100,000 deep in an event',
      request: httpRequest(
        'POST',
        events,
        { 'content-type': 'application/json' },
        Buffer.from(`{"workerId":"${WORKER}","events":[{"type":"screen.observed","data":{"activity":${nested}}}]}`),
      ),
      status: 400,
    },
    {
      name: 'JSON nested 100,000 deep in a snapshot state',
      request: httpRequest('POST', `/runs/${run.runId}/snapshots`, { 'content-type': 'application/json' }, deepState),
      status: 400,
    },
    {
      name: 'invalid UTF-8 in a JSON body',
      request: httpRequest(
        'POST',
        events,
        { 'content-type': 'application/json' },
        Buffer.concat([
          Buffer.from(`{"workerId":"${WORKER}","events":[{"type":"screen.observed","data":{"activity":"`),
          Buffer.from([0xc3, 0x28, 0xff]),
          Buffer.from('"}}]}'),
        ]),
      ),
      status: 400,
      code: /SG_MALFORMED_JSON/,
    },
    {
      name: 'a form body',
      request: httpRequest('POST', events, { 'content-type': 'application/x-www-form-urlencoded' }, Buffer.from('a=b')),
      status: 415,
      code: /SG_UNSUPPORTED_MEDIA_TYPE/,
    },
    {
      name: 'an XML body where JSON is due',
      request: httpRequest('POST', events, { 'content-type': 'application/xml' }, Buffer.from('<a/>')),
      status: 415,
    },
    {
      name: 'a screenshot that says it is HTML',
      request: httpRequest(
        'POST',
        `/runs/${run.runId}/artifacts?kind=screenshot`,
        { 'content-type': 'text/html' },
        Buffer.from('<script>'),
      ),
      status: 400,
      code: /SG_CONTENT_TYPE_NOT_FOR_KIND/,
    },
    {
      name: 'path traversal in a run id',
      request: httpRequest('GET', '/runs/..%2F..%2Fetc%2Fpasswd/events', {}, Buffer.alloc(0)),
      status: 400,
    },
    {
      name: 'path traversal in an artifact id',
      request: httpRequest('GET', `/runs/${run.runId}/artifacts/..%2F..%2Fsecret/content`, {}, Buffer.alloc(0)),
      status: 400,
    },
    {
      name: 'SQL in a run id',
      request: httpRequest('GET', "/runs/1'%20OR%20'1'='1", {}, Buffer.alloc(0)),
      status: 400,
    },
    {
      name: 'SQL in an app package',
      request: httpRequest(
        'POST',
        '/runs',
        { 'content-type': 'application/json' },
        json({ appPackage: "x'; DROP TABLE runs; --" }),
      ),
      status: 400,
    },
    {
      name: 'a header with a CR LF in its value (response splitting)',
      request: Buffer.from(
        `GET /runs/${run.runId} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: a\rSet-Cookie: evil=1\r\nConnection: close\r\n\r\n`,
        'latin1',
      ),
      status: 400,
    },
    {
      name: 'a request id made to inject a header',
      request: Buffer.from(
        `GET /runs/${run.runId} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: a%0d%0aSet-Cookie:%20evil\r\nConnection: close\r\n\r\n`,
        'latin1',
      ),
      status: 200,
    },
  ];
  for (const { name, request, status, code } of cases) {
    const response = await raw(stack.runsUrl, request);
    t.equal(response.status, status, `${name}: ${status}`, { response: response.text.slice(0, 600) });
    if (code) t.match(response.text, code, `${name}: ${code.source}`);
    t.notMatch(response.text, /^Set-Cookie/im, `${name}: no header of the attacker's`);
  }
  t.same(await counts(), before, 'nothing stored by any of them');

  // An XML bomb is the agent's record to keep (the runs service does not read hierarchies); the
  // graph service refuses to expand it and records why.
  const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><hierarchy><node text="&lol3;"/></hierarchy>`;
  const artifact = await runs.uploadArtifact(
    run.runId,
    'ui_hierarchy',
    new TextEncoder().encode(bomb),
    'application/xml',
  );
  await runs.append(run.runId, WORKER, [
    { type: 'screen.observed', data: { hierarchyXml: bomb } },
    { type: 'screen.observed', data: { hierarchyArtifactId: artifact.artifactId } },
  ]);
  const deadline = Date.now() + 20_000;
  const projectionOf = () =>
    fetch(`${stack.graphUrl}/runs/${run.runId}/projection`).then((r) => r.json() as Promise<{ projectedSeq: number }>);
  let projection = await projectionOf();
  while (projection.projectedSeq < 4 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    projection = await projectionOf();
  }
  t.match(projection, { projectedSeq: 4, outcomes: { rejected: 2 } }, 'both XML bombs rejected by the projection');
  const reasons = await withClient(stack.graphDatabase.url, async (db) =>
    (await db.query("SELECT detail FROM graph_persistence_outcomes WHERE outcome = 'rejected'")).rows.map(
      (r) => r.detail,
    ),
  );
  t.match(reasons, [/DOCTYPE/, /DOCTYPE/], 'with the reason');

  for (const url of [stack.runsUrl, stack.graphUrl]) {
    const ready = await fetch(`${url}/health/ready`);
    t.equal(ready.status, 200, `${url} still ready`);
  }
  await record({
    scenario:
      'hostile input: oversized, deeply nested, invalid UTF-8, wrong types, traversal, SQL, header injection, XML bombs',
    load: 'one agent',
    fault: `${cases.length} hostile requests, 2 XML bombs`,
    acknowledged: 0,
    lost: 0,
    duplicates: 0,
    outOfOrder: 0,
    convergeMs: 0,
  });
});
