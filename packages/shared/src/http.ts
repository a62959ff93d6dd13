import { createHash, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaCompiler } from 'fastify';
import secureJson from 'secure-json-parse';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { Errors } from './errors.js';
import { newUlid } from './ids.js';
import { isTransientDatabaseError } from './postgres.js';

/** A request id a caller may send in `X-Request-Id`: short, and safe to log and to put in a header. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Server options for request ids: the caller's `X-Request-Id` when it is well formed, else a new
 * ULID; Fastify logs it as `reqId` on every line of the request.
 */
export const requestIdOptions = {
  genReqId(request: { headers: Record<string, string | string[] | undefined> }): string {
    const given = request.headers['x-request-id'];
    return typeof given === 'string' && REQUEST_ID.test(given) ? given : newUlid();
  },
} as const;

/** Answers every request with its id in `X-Request-Id`, so a caller can quote it. */
export function echoRequestId(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
}

/**
 * Validates requests with TypeBox's compiler. Query strings, params and headers get their
 * schema defaults and are converted from strings first; bodies are taken exactly as sent.
 */
export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const checker = Compile(schema);
  const fromStrings = httpPart !== 'body';
  return (input: unknown) => {
    const value = fromStrings ? Value.Convert(schema, Value.Default(schema, input)) : input;
    return checker.Check(value) ? { value } : { error: checker.Errors(value) };
  };
};

type SgError = Error & { code: string; statusCode: number; currentSeq?: number };

/** Maps Fastify's own client errors to catalogue errors, so every 4xx has an `SG_*` code. */
function toCatalogueError(error: FastifyError, request: FastifyRequest): SgError {
  if (error.code?.startsWith('SG_')) return error as SgError;
  if (error.validation) {
    const [first] = error.validation;
    const path = first?.instancePath ? `${error.validationContext}${first.instancePath}` : error.validationContext;
    const detail = first?.params && 'requiredProperties' in first.params ? ` ${JSON.stringify(first.params)}` : '';
    return Errors.validationFailed(`${path ?? 'request'} ${first?.message ?? 'is invalid'}${detail}`) as SgError;
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return Errors.malformedJson('it does not parse, or it sets __proto__ or constructor.prototype') as SgError;
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return Errors.malformedJson('the body is empty') as SgError;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return Errors.bodyTooLarge(String(request.routeOptions.bodyLimit ?? '')) as SgError;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return Errors.unsupportedMediaType(request.headers['content-type'] ?? '(none)') as SgError;
  }
  if (error instanceof SyntaxError) return Errors.malformedJson(error.message) as SgError;
  // Worth sending again (appends are idempotent by event id): a 503 with Retry-After, not a 500.
  if (isTransientDatabaseError(error)) return Errors.databaseUnavailable(error.message) as SgError;
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return Errors.badRequest(error.message) as SgError;
  return Errors.internal() as SgError;
}

/** Deeper than this, a JSON body is refused: no event or state needs it, and PostgreSQL's jsonb would refuse it later. */
export const MAX_JSON_DEPTH = 64;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The characters that open, close or quote. */
const STRUCTURE = /[{}[\]"]/g;
/** A JSON string from its opening quote, escapes included (sticky: matched where `lastIndex` is). */
const STRING = /"[^"\\]*(?:\\.[^"\\]*)*"/y;

/**
 * Whether JSON text nests objects and arrays deeper than `limit`, found before parsing it: a
 * deeply nested body costs JSON.parse ~40 times what as large a body of strings does. Strings are
 * skipped by one regular expression each, not character by character: most of an event's bytes are
 * in them (its hierarchy), and the scan is then cheaper than the parse (a character loop had cost
 * more than JSON.parse itself on batches of 100 events). Exact for valid JSON; text that is not is
 * refused by the parse after.
 */
function nestedDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  STRUCTURE.lastIndex = 0;
  for (let found = STRUCTURE.exec(text); found !== null; found = STRUCTURE.exec(text)) {
    const c = text.charCodeAt(found.index);
    if (c === 34) {
      STRING.lastIndex = found.index;
      if (!STRING.test(text)) return false;
      STRUCTURE.lastIndex = STRING.lastIndex;
    } else if (c === 123 || c === 91) {
      if (++depth > limit) return true;
    } else depth--;
  }
  return false;
}

/**
 * Parses a JSON body strictly: valid UTF-8, nested at most MAX_JSON_DEPTH levels, and no
 * `__proto__` or `constructor.prototype` keys (secure-json-parse, as Fastify's own parser).
 */
export function parseJsonBody(body: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw Errors.malformedJson('it is not valid UTF-8');
  }
  if (text.trim() === '') throw Errors.malformedJson('the body is empty');
  if (nestedDeeperThan(text, MAX_JSON_DEPTH)) {
    throw Errors.malformedJson(`it is nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    throw Errors.malformedJson(
      error instanceof SyntaxError ? error.message : 'it sets __proto__ or constructor.prototype',
    );
  }
}

/**
 * Installs the JSON error shape `{statusCode, code, error, message}` on an app, and takes JSON
 * bodies only (routes that take other bodies add their own parser), read by `parseJsonBody`.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const sg = toCatalogueError(error, request);
    if (sg.statusCode === 503) {
      request.log.warn({ err: error }, 'request failed: a dependency is unavailable');
      void reply.header('retry-after', '1');
    } else if (sg.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: sg.code, message: sg.message }, 'request refused');
    return reply.status(sg.statusCode).send({
      statusCode: sg.statusCode,
      code: sg.code,
      error: STATUS_CODES[sg.statusCode] ?? 'Error',
      message: sg.message,
      ...(sg.currentSeq === undefined ? {} : { currentSeq: sg.currentSeq }),
    });
  });
  app.setNotFoundHandler((request, reply) => {
    const sg = Errors.routeNotFound(`${request.method} ${request.url.split('?')[0]}`);
    return reply.status(404).send({ statusCode: 404, code: sg.code, error: 'Not Found', message: sg.message });
  });
}

/** Closes the app on SIGINT/SIGTERM (stop accepting, finish in-flight work), exiting 1 if that takes over 10 s. */
export function closeOnSignals(app: FastifyInstance, graceMs = 10_000): void {
  let closing = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      if (closing) return;
      closing = true;
      app.log.info({ signal }, 'closing');
      setTimeout(() => {
        app.log.error({ graceMs }, 'close did not finish in time; exiting');
        process.exit(1);
      }, graceMs).unref();
      // The server closes the connections idle when it stops listening, once; a keep-alive
      // connection whose request was in flight then would stay open after its response until
      // the client drops it, and the close would wait for it.
      setInterval(() => app.server.closeIdleConnections(), 100).unref();
      app.close().then(
        () => process.exit(0),
        (error: unknown) => {
          app.log.error({ err: error }, 'close failed');
          process.exit(1);
        },
      );
    });
  }
}

/** `GET /health/live`: the process is up and serving. */
export function registerLiveness(app: FastifyInstance): void {
  app.get(
    '/health/live',
    { schema: { response: { 200: { type: 'object', properties: { status: { const: 'ok' } } } } } },
    async () => ({ status: 'ok' }),
  );
}

/**
 * A dependency a service is ready only with: resolves when it answers, rejects (or times out) when
 * not. It may resolve to `{ degraded: reason }`: the service still serves (ready), with less.
 */
export type ReadinessCheck = () => Promise<unknown>;

const degradedReason = (value: unknown): string | undefined =>
  typeof value === 'object' && value !== null && typeof (value as { degraded?: unknown }).degraded === 'string'
    ? (value as { degraded: string }).degraded
    : undefined;

/**
 * `/health/ready`: 200 while every check answers within a second, else 503 naming what does not.
 * A check that answers degraded keeps the service ready (200, status `degraded`, naming why).
 * Load balancers and orchestrators route traffic by it; `/health/live` only says the process runs.
 */
export function registerReadiness(app: FastifyInstance, checks: Record<string, ReadinessCheck>): void {
  app.get('/health/ready', async (_request, reply) => {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer within 1 s')), 1000);
        });
        try {
          const degraded = degradedReason(await Promise.race([check(), timeout]));
          return degraded === undefined ? ([name, 'ok'] as const) : ([name, `degraded: ${degraded}`] as const);
        } catch (error) {
          return [name, (error as Error).message || 'unavailable'] as const;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const ready = results.every(([, result]) => result === 'ok' || result.startsWith('degraded: '));
    const degraded = results.some(([, result]) => result.startsWith('degraded: '));
    return reply
      .status(ready ? 200 : 503)
      .send({ status: ready ? (degraded ? 'degraded' : 'ok') : 'unavailable', checks: Object.fromEntries(results) });
  });
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Paths served without a token: exact paths and path prefixes. */
export interface PublicPaths {
  paths?: string[];
  prefixes?: string[];
}

/**
 * With a token, every route but `/health/*` and the given public paths requires
 * `Authorization: Bearer <token>`: compared in constant time (as digests, so lengths do not leak
 * either); 401 `SG_UNAUTHORIZED` otherwise. Request logs never carry headers, so the token is never
 * logged.
 */
export function requireBearerToken(app: FastifyInstance, token: string | null, open: PublicPaths = {}): void {
  if (token === null) return;
  const expected = digest(`Bearer ${token}`);
  const isPublic = (url: string) => {
    const path = url.split('?', 1)[0] ?? url;
    return (open.paths ?? []).includes(path) || (open.prefixes ?? []).some((prefix) => path.startsWith(prefix));
  };
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith('/health/') || isPublic(request.url)) return;
    const given = request.headers.authorization;
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return;
    reply.header('www-authenticate', 'Bearer');
    throw Errors.unauthorized();
  });
}
