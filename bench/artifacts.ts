/**
 * `pnpm bench:artifacts`: how fast the runs service stores and serves screenshots.
 *
 * The real screenshots of ../shared/data (PNG and JPEG, 30 KB to 1 MB) are uploaded by 8
 * concurrent clients for BENCH_SECONDS, each upload made unique by 16 random bytes at its end
 * (so every one is stored, none deduplicated), then downloaded the same way; MB/s and files/s,
 * and the service's peak RSS. Then the same files again, unchanged: uploads of bytes already
 * stored only add an index row and a link.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { sharedDataDir, uniqueDatabase } from '@screengraph/testing';
import { RunsService, startBenchmark } from './support.js';

startBenchmark(import.meta.url);

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CLIENTS = 8;
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

const data = sharedDataDir();
if (!data) {
  console.log('bench:artifacts needs ../shared/data (or SCREENGRAPH_SHARED_DATA): skipped');
  process.exit(0);
}
const images: { bytes: Buffer; type: string }[] = [];
for (const dir of [join(data, 'uiautomator'), join(data, 'droidbot')]) {
  for (const app of readdirSync(dir)) {
    const folder = dir.endsWith('droidbot') ? join(dir, app, 'states') : join(dir, app);
    for (const file of readdirSync(folder)) {
      if (/\.(png|jpe?g)$/.test(file)) {
        images.push({
          bytes: readFileSync(join(folder, file)),
          type: file.endsWith('.png') ? 'image/png' : 'image/jpeg',
        });
      }
    }
  }
}
const averageKiB = images.reduce((sum, image) => sum + image.bytes.length, 0) / images.length / 1024;

const suffix = randomBytes(4).toString('hex');
const bucket = `bench_artifacts_${suffix}`;
const database = uniqueDatabase('bench_artifacts');
const service = await RunsService.start({
  RUNS_DATABASE_URL: database.url,
  NATS_URL,
  RUNS_ARTIFACTS_BUCKET: bucket,
  RUN_EVENTS_STREAM: `BENCH_ARTIFACTS_${suffix.toUpperCase()}`,
  RUN_EVENTS_SUBJECT_PREFIX: `bench_artifacts_${suffix}`,
  RUNS_RELAY_CONCURRENCY: '0',
});
const row = (name: string, value: string) => console.log(`${name.padEnd(44)} ${value}`);

async function upload(runId: string, image: { bytes: Buffer; type: string }): Promise<string> {
  const res = await service.http.request({
    method: 'POST',
    path: `/runs/${runId}/artifacts?kind=screenshot`,
    headers: { 'content-type': image.type },
    body: image.bytes,
  });
  const body = await res.body.json();
  if (res.statusCode !== 201) throw new Error(`upload: ${res.statusCode} ${JSON.stringify(body)}`);
  return (body as { artifactId: string }).artifactId;
}

/** `work` by 8 clients for the benchmark's seconds; files and bytes per second. */
async function load(work: (client: number, i: number) => Promise<number>) {
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  let files = 0;
  let bytes = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const size = await work(client, i); // not `bytes += await`: that reads bytes before waiting
        bytes += size;
        files++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return `${(bytes / seconds / 1024 / 1024).toFixed(1)} MB/s, ${(files / seconds).toFixed(0)} files/s`;
}

try {
  const runs = await service.runningRuns(CLIENTS);
  console.log(
    `artifacts benchmark: ${images.length} real screenshots, ${averageKiB.toFixed(0)} KiB on average, ${CLIENTS} clients`,
  );
  const stored: { runId: string; artifactId: string; size: number }[] = [];
  row(
    'upload, every file new',
    await load(async (client, i) => {
      const image = images[(client * 7 + i) % images.length] as { bytes: Buffer; type: string };
      const unique = { ...image, bytes: Buffer.concat([image.bytes, randomBytes(16)]) };
      const runId = runs[client] as string;
      stored.push({ runId, artifactId: await upload(runId, unique), size: unique.bytes.length });
      return unique.bytes.length;
    }),
  );
  row(
    'download',
    await load(async (client, i) => {
      const artifact = stored[(client * 13 + i) % stored.length] as (typeof stored)[number];
      const res = await service.http.request({
        method: 'GET',
        path: `/runs/${artifact.runId}/artifacts/${artifact.artifactId}/content`,
      });
      let size = 0;
      for await (const chunk of res.body) size += (chunk as Buffer).length;
      if (res.statusCode !== 200 || size !== artifact.size)
        throw new Error(`download: ${res.statusCode}, ${size} bytes`);
      return size;
    }),
  );
  row(
    'upload, bytes already stored',
    await load(async (client, i) => {
      const image = images[(client * 7 + i) % images.length] as { bytes: Buffer; type: string };
      await upload(runs[client] as string, image);
      return image.bytes.length;
    }),
  );
  row('runs service peak RSS', `${service.peakRssMiB().toFixed(0)} MiB`);
} finally {
  await service.stop();
  const nc = await connect({ servers: NATS_URL });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(`OBJ_${bucket}`).catch(() => false);
  await jsm.streams.delete(`BENCH_ARTIFACTS_${suffix.toUpperCase()}`).catch(() => false);
  await nc.close();
  await database.drop();
}
