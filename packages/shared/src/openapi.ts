import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
import type { TSchema } from 'typebox';

/** Route options that keep a route out of the OpenAPI document (pages, redirects, static files). */
export const HIDDEN_ROUTE: { schema: FastifySchema } = { schema: { hide: true } };

export interface ApiInfo {
  title: string;
  description: string;
  version: string;
}

/** Named schemas the routes do not spell out (an event type's `data`), as `components.schemas`. */
export type NamedSchemas = Record<string, TSchema>;

/**
 * The service's OpenAPI 3 document at `/openapi.json` and a browsable UI at `/docs`, generated
 * from the route schemas. Register it before the routes: it collects them as they are added.
 */
export async function registerOpenApi(app: FastifyInstance, info: ApiInfo, schemas: NamedSchemas = {}): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info,
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
        // Plain JSON: TypeBox's own symbol keys are not part of a schema.
        schemas: JSON.parse(JSON.stringify(schemas)),
      },
      security: [{ bearer: [] }],
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', HIDDEN_ROUTE, async () => app.swagger());
}
