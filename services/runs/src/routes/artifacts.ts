import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '@screengraph/shared';
import {
  ArtifactParamsSchema,
  ArtifactSchema,
  RunIdParamsSchema,
  UploadQuerySchema,
} from '@screengraph/shared/api/runs';
import { Type } from 'typebox';
import { mediaTypeFor } from '../artifacts/artifact-store.js';

export interface ArtifactRoutesOptions {
  maxBytes: number;
}

/**
 * Artifacts: raw bytes in, raw bytes out. Encapsulated: in here every body is read as bytes, up
 * to the artifact size limit, whatever its Content-Type.
 */
const artifactRoutes: FastifyPluginAsyncTypebox<ArtifactRoutesOptions> = async (app, options) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.maxBytes }, (_request, body, done) =>
    done(null, body),
  );
  const store = app.artifactStore;

  app.post(
    '/runs/:runId/artifacts',
    {
      bodyLimit: options.maxBytes,
      schema: {
        params: RunIdParamsSchema,
        querystring: UploadQuerySchema,
        response: { 201: ArtifactSchema, ...errorResponses(400, 404, 413, 503) },
      },
    },
    async (request, reply) => {
      const { kind } = request.query;
      const mediaType = mediaTypeFor(kind, request.headers['content-type']);
      const bytes = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const artifact = await store.upload(request.params.runId, kind, mediaType, bytes);
      return reply.status(201).send(artifact);
    },
  );

  app.get(
    '/runs/:runId/artifacts',
    {
      schema: {
        params: RunIdParamsSchema,
        response: { 200: Type.Object({ artifacts: Type.Array(ArtifactSchema) }), ...errorResponses(400, 404) },
      },
    },
    async (request) => ({ artifacts: await store.list(request.params.runId) }),
  );

  app.get(
    '/runs/:runId/artifacts/:artifactId/content',
    {
      schema: {
        params: ArtifactParamsSchema,
        response: {
          200: Type.Unknown({
            description: 'The bytes, with their Content-Type, Content-Length and an ETag of their SHA-256',
          }),
          304: Type.Null({ description: 'If-None-Match named the ETag' }),
          ...errorResponses(400, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const artifact = await store.get(request.params.runId, request.params.artifactId);
      const etag = `"${artifact.sha256}"`;
      reply.header('etag', etag).header('cache-control', 'private, max-age=31536000, immutable');
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch?.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) {
        return reply.status(304).send(null);
      }
      return reply
        .type(artifact.contentType)
        .header('content-length', artifact.byteSize)
        .send((await store.content(artifact)) as never);
    },
  );

  app.delete(
    '/runs/:runId',
    {
      schema: {
        params: RunIdParamsSchema,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(400, 404, 409, 503) },
      },
    },
    async (request, reply) => {
      await store.deleteRun(request.params.runId);
      return reply.status(204).send(null);
    },
  );
};

export default artifactRoutes;
