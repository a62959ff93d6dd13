import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with the next request matching a fault. */
export type Fault =
  /** Passes the request on, lets the service act on it, then drops the client's connection. */
  | 'drop-after-forward'
  /** Answers 503 itself, the request never reaches the service. */
  | 'unavailable';

/**
 * An HTTP proxy in front of a service that injects faults into chosen requests and counts what
 * it forwarded, to test a client's retries against a real service.
 */
export class FaultProxy {
  readonly forwarded: string[] = [];
  private readonly faults: { match: (method: string, path: string) => boolean; fault: Fault }[] = [];

  private constructor(readonly url: string) {}

  static async start(upstream: string, t: { teardown(fn: () => unknown): void }): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer((request, response) => void proxy?.handle(upstream, request, response));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    proxy = new FaultProxy(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    t.teardown(() => {
      server.closeAllConnections();
      server.close();
    });
    return proxy;
  }

  /** The next request for which `match` holds gets `fault` (once per call). */
  inject(fault: Fault, match: (method: string, path: string) => boolean): void {
    this.faults.push({ match, fault });
  }

  private async handle(upstream: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = request.url ?? '/';
    const index = this.faults.findIndex((f) => f.match(request.method ?? 'GET', path.split('?')[0] ?? path));
    const fault = index === -1 ? undefined : this.faults.splice(index, 1)[0]?.fault;
    if (fault === 'unavailable') {
      response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' });
      response.end(
        JSON.stringify({
          statusCode: 503,
          code: 'SG_TEST_UNAVAILABLE',
          error: 'Service Unavailable',
          message: 'injected',
        }),
      );
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name)),
    ) as Record<string, string>;
    this.forwarded.push(`${request.method} ${path.split('?')[0]}`);
    const answer = await fetch(`${upstream}${path}`, {
      method: request.method,
      headers,
      body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
    });
    const body = Buffer.from(await answer.arrayBuffer());
    if (fault === 'drop-after-forward') {
      request.socket.destroy();
      return;
    }
    response.writeHead(
      answer.status,
      Object.fromEntries(
        [...answer.headers].filter(
          ([name]) => !['content-encoding', 'content-length', 'transfer-encoding'].includes(name),
        ),
      ),
    );
    response.end(body);
  }
}
