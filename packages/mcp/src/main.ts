#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { serveHttp, serveStdio } from './transports.js';

const USAGE = `Usage: screengraph-mcp [--http <port>] [--host <host>] [--worker <id>]
  ScreenGraph's MCP server: over stdio, or the Streamable HTTP transport at http://<host>:<port>/mcp.
  Services: RUNS_URL (default http://127.0.0.1:3001), GRAPH_URL (http://127.0.0.1:3002), SCREENGRAPH_API_TOKEN.`;

const { values } = parseArgs({
  options: {
    http: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    worker: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(0);
}
const settings = {
  runsUrl: process.env.RUNS_URL ?? 'http://127.0.0.1:3001',
  graphUrl: process.env.GRAPH_URL ?? 'http://127.0.0.1:3002',
  token: process.env.SCREENGRAPH_API_TOKEN || undefined,
  workerId: values.worker,
};
if (values.http === undefined) {
  await serveStdio(settings);
  process.exit(0);
}
if (!/^\d{1,5}$/.test(values.http) || Number(values.http) > 65535) {
  process.stderr.write(`--http must be a port number, not ${values.http}\n${USAGE}\n`);
  process.exit(2);
}
const endpoint = await serveHttp(settings, Number(values.http), values.host);
process.stderr.write(`ScreenGraph MCP server at ${endpoint.url}\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void endpoint.close().then(() => process.exit(0)));
}
