import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { ScreenGraphClient } from '@screengraph/client';
import { createMcpServer } from './server.js';

/** Where the services are, as the command line and the environment say. */
export interface ServiceSettings {
  runsUrl: string;
  graphUrl: string;
  token?: string;
  /** Worker id of the runs sessions start (default: one per session). */
  workerId?: string;
}

const clientOf = (settings: ServiceSettings) =>
  new ScreenGraphClient({
    runsUrl: settings.runsUrl,
    graphUrl: settings.graphUrl,
    token: settings.token,
    // A model is waiting: a few quick retries, then a tool error saying what is unreachable.
    retry: { retries: 3, maxDelayMs: 1000 },
  });

/** Serves one session over this process's stdin and stdout until stdin ends. */
export async function serveStdio(
  settings: ServiceSettings,
  stdin: Readable = process.stdin,
  stdout: Writable = process.stdout,
): Promise<void> {
  const { server } = createMcpServer(clientOf(settings), settings);
  const transport = new StdioServerTransport(stdin, stdout);
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
  });
  await server.connect(transport);
  // The SDK's transport does not notice its client went away: stdin's end does.
  stdin.once('end', () => void server.close());
  await closed;
}

/** A running Streamable HTTP endpoint. */
export interface HttpEndpoint {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the Streamable HTTP transport at `/mcp`: each client session (its `Mcp-Session-Id`) gets
 * a server and an ExplorationSession of its own. Listens on `host` (default 127.0.0.1).
 */
export async function serveHttp(settings: ServiceSettings, port: number, host = '127.0.0.1'): Promise<HttpEndpoint> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http: HttpServer = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) reply(response, 500, -32603, `internal error: ${(error as Error).message}`);
    });
  });
  async function handle(request: IncomingMessage, response: ServerResponse) {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== '/mcp') return reply(response, 404, -32601, 'the MCP endpoint is /mcp');
    const sessionId = request.headers['mcp-session-id'];
    const known = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    const body = request.method === 'POST' ? await readJson(request) : undefined;
    if (body === PARSE_ERROR) return reply(response, 400, -32700, 'the body is not JSON');
    if (known) return known.handleRequest(request, response, body);
    if (request.method !== 'POST' || !isInitializeRequest(body)) {
      return reply(
        response,
        400,
        -32000,
        sessionId ? `no session ${sessionId}: initialize again` : 'initialize a session first',
      );
    }
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    const { server } = createMcpServer(clientOf(settings), settings);
    await server.connect(transport);
    await transport.handleRequest(request, response, body);
  }
  http.listen(port, host);
  await once(http, 'listening');
  const address = http.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}/mcp`,
    async close() {
      await Promise.all([...sessions.values()].map((transport) => transport.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function reply(response: ServerResponse, status: number, code: number, message: string) {
  response
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

const MAX_BODY = 64 * 1024 * 1024;

const PARSE_ERROR = Symbol('not JSON');

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('the request is larger than 64 MB');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return PARSE_ERROR;
  }
}
