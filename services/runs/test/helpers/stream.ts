import { RunEventHeaders } from '@screengraph/shared';
import type { StreamMessage } from '@screengraph/testing';
import type { Test } from 'tap';
import type { RunsTestApp } from './build.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until every run's events are published (outbox lag 0). */
export async function published(app: RunsTestApp, runIds: string[], timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lags = await Promise.all(
      runIds.map(async (id) => (await app.inject(`/runs/${id}/outbox`)).json().lag as number),
    );
    if (lags.every((lag) => lag === 0)) return;
    if (Date.now() > deadline) throw new Error(`not published in time: lags ${lags.join(',')}`);
    await sleep(50);
  }
}

/** The stream holds each event of each run exactly once, in seq order, with its headers. */
export function checkStream(t: Test, messages: StreamMessage[], lastSeqs: Map<string, number>) {
  const seqsByRun = new Map<string, number[]>();
  for (const message of messages) {
    const body = message.body as { runId: string; seq: number; eventId: string; type: string; appPackage: string };
    const seqs = seqsByRun.get(body.runId) ?? [];
    seqs.push(body.seq);
    seqsByRun.set(body.runId, seqs);
    // The event id, or after a copy of it was withdrawn from out of place, the event id and that copy's sequence.
    const msgId = message.headers['Nats-Msg-Id'] ?? '';
    if (msgId !== body.eventId && !new RegExp(`^${body.eventId}~\\d+$`).test(msgId))
      t.fail(`msg id of ${body.runId}/${body.seq}: ${msgId}`);
    if (message.headers[RunEventHeaders.seq] !== String(body.seq)) t.fail('seq header');
    if (message.headers[RunEventHeaders.eventType] !== body.type) t.fail('type header');
    if (message.headers[RunEventHeaders.appPackage] !== body.appPackage) t.fail('app package header');
    if (!message.subject.endsWith(`.${body.runId}.events`)) t.fail(`subject ${message.subject}`);
  }
  for (const [runId, lastSeq] of lastSeqs) {
    t.same(
      seqsByRun.get(runId),
      Array.from({ length: lastSeq }, (_, i) => i + 1),
      `run ${runId}: 1..${lastSeq} once, in order`,
    );
  }
  t.equal(
    messages.length,
    [...lastSeqs.values()].reduce((a, b) => a + b, 0),
    'nothing else in the stream',
  );
}

export async function lastSeqs(app: RunsTestApp, runIds: string[]) {
  return new Map(
    await Promise.all(
      runIds.map(async (id) => [id, (await app.inject(`/runs/${id}`)).json().lastSeq as number] as const),
    ),
  );
}
