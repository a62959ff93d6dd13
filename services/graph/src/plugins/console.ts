import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import proxy from '@fastify/http-proxy';
import fastifyStatic from '@fastify/static';
import { Errors } from '@screengraph/shared';
import type { PublicPaths } from '@screengraph/shared/http';
import { HIDDEN_ROUTE } from '@screengraph/shared/openapi';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';

export interface ConsolePluginOptions {
  /** The console's static build; without an index.html there, /console/ says how to build it. */
  consoleDir: string;
  /** The runs service, whose read API the console reaches through `/runs-api/`. */
  runsUrl: string;
}

/** Public: the console's code holds no data; every API call it makes carries the token. */
export const CONSOLE_PUBLIC_PATHS: PublicPaths = { paths: ['/', '/console'], prefixes: ['/console/'] };

/**
 * The web console on the graph service's own port: its static build under `/console/`, and the
 * runs service's read API (GET only) under `/runs-api/`, so the browser talks to one origin with
 * one token and no CORS. The proxy streams, so the run pages' Server-Sent Events pass through.
 */
export default fp(
  async (app: FastifyInstance, options: ConsolePluginOptions) => {
    await app.register(proxy, {
      upstream: options.runsUrl,
      prefix: '/runs-api',
      httpMethods: ['GET', 'HEAD'],
      proxyPayloads: false,
      replyOptions: {
        onError: (reply, { error }) => reply.send(Errors.runsServiceUnavailable(error.message)),
      },
    });

    const toConsole = (_request: unknown, reply: FastifyReply) => reply.redirect('/console/');
    app.get('/', HIDDEN_ROUTE, toConsole);
    app.get('/console', HIDDEN_ROUTE, toConsole);
    if (existsSync(join(options.consoleDir, 'index.html'))) {
      await app.register(fastifyStatic, {
        root: options.consoleDir,
        prefix: '/console/',
        // Built assets have content hashes in their names; the page itself is always revalidated.
        setHeaders: (response, path) => {
          response.header(
            'cache-control',
            path.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
          );
        },
      });
      return;
    }
    app.log.warn({ consoleDir: options.consoleDir }, 'the web console is not built: /console/ explains how');
    app.get('/console/*', HIDDEN_ROUTE, (_request, reply) =>
      reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .send(
          'The ScreenGraph console is not built. Run `pnpm build` (or `pnpm --filter @screengraph/console build`) and restart the graph service.\n',
        ),
    );
  },
  { name: 'console' },
);
