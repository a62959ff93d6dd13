import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { installErrorHandling, registerLiveness, typeboxValidatorCompiler } from '@screengraph/shared/http';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';

/**
 * The graph service as a Fastify plugin. A skeleton for now: the projection and the graph
 * queries arrive with their issues; it already answers with ScreenGraph's error shape.
 */
export const graphApp = fp(
  async (app: FastifyInstance) => {
    app.setValidatorCompiler(typeboxValidatorCompiler);
    installErrorHandling(app);
    registerLiveness(app);
  },
  { name: 'graph-app' },
);

/** Builds the graph service's Fastify instance; the caller listens (or injects). */
export async function buildGraphApp(serverOptions: FastifyServerOptions = {}) {
  const app = Fastify(serverOptions).withTypeProvider<TypeBoxTypeProvider>();
  await app.register(graphApp);
  return app;
}
