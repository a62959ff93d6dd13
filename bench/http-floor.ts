/**
 * The floor under any HTTP append service on this machine: node:http, the body parsed, one raw
 * single-row commit per request (`RAW_COMMIT_INSERT`, into the bench's bare table), a small JSON
 * answer. No framework, validation, seq bookkeeping or notification: what is left when every
 * piece of the runs service but the HTTP exchange and the commit is taken away. bench:append-ab
 * starts it in a child process (`node --import tsx bench/http-floor.ts`) with the database URL
 * and the pool size in its arguments; it prints its port once it listens.
 */
import { createServer } from 'node:http';
import pg from 'pg';
import { RAW_COMMIT_INSERT } from './support.js';

const [databaseUrl, poolSize] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(poolSize ?? 8) });
const seqs = new Map<string, number>();

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const runId = request.url?.split('/')[2] ?? '';
    const { events } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      events: { eventId: string; type: string; data: unknown }[];
    };
    const [event] = events;
    const seq = (seqs.get(runId) ?? 0) + 1;
    seqs.set(runId, seq);
    pool.query(RAW_COMMIT_INSERT, [runId, seq, event?.eventId, event?.type, JSON.stringify(event?.data)]).then(
      () => {
        response.writeHead(201, { 'content-type': 'application/json' }).end(`{"firstSeq":${seq},"lastSeq":${seq}}`);
      },
      (error: Error) => {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(error.message);
      },
    );
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(typeof address === 'object' && address ? address.port : '');
});
process.on('SIGTERM', () => {
  server.close();
  void pool.end();
});
