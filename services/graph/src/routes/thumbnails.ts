import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Errors, errorResponses } from '@screengraph/shared';
import { ScreenIdParamsSchema, ThumbnailQuerySchema } from '@screengraph/shared/api/graph';
import { LRUCache } from 'lru-cache';
import sharp from 'sharp';
import { Type } from 'typebox';
import { MAX_SCREENSHOT_PIXELS } from '../identity/perceptual-hash.js';
import { ArtifactStoreUnavailable } from '../projection/inputs/artifact-bytes.js';

/** Thumbnails kept in memory, by screenshot and width (an artifact's bytes never change). */
const THUMBNAIL_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * A small WebP of a screen's representative screenshot, for graph nodes and lists: read from the
 * runs service's artifact store and scaled by libvips. Its ETag names the screenshot and the
 * width, so a browser asks again only when the screen's screenshot changed. Made thumbnails are
 * kept (an LRU of 32 MB, ~2,000 of them): a graph of hundreds of screens drawn by every console
 * that opens it costs one fetch and one scaling each, and requests for one that is being made
 * wait for it instead of making it again.
 */
const thumbnailRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const thumbnails = new LRUCache<string, Buffer, { artifactId: string; screenId: string; width: number }>({
    maxSize: THUMBNAIL_CACHE_BYTES,
    sizeCalculation: (thumbnail) => thumbnail.length,
    fetchMethod: async (_key, _stale, { context: { artifactId, screenId, width } }) => {
      const bytes = await app.artifactBytes(artifactId).catch((error: Error) => {
        throw error instanceof ArtifactStoreUnavailable ? Errors.blobStoreUnavailable(error.message) : error;
      });
      if (bytes === null) throw Errors.screenshotNotFound(screenId);
      return sharp(bytes, { limitInputPixels: MAX_SCREENSHOT_PIXELS, failOn: 'error' })
        .resize({ width, withoutEnlargement: true })
        .webp({ quality: 75 })
        .toBuffer()
        .catch(() => {
          throw Errors.screenshotNotFound(screenId);
        });
    },
  });

  app.get(
    '/apps/:appPackage/screens/:screenId/thumbnail',
    {
      schema: {
        params: ScreenIdParamsSchema,
        querystring: ThumbnailQuerySchema,
        produces: ['image/webp'],
        response: {
          200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary', description: 'A WebP image' }),
          304: Type.Null({ description: 'The thumbnail named by If-None-Match is still this one' }),
          ...errorResponses(400, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const { appPackage, screenId } = request.params;
      const { width } = request.query;
      const artifactId = await app.graphReads.screenshotOf(appPackage, screenId);
      if (artifactId === null) throw Errors.screenshotNotFound(screenId);
      const etag = `"${artifactId}-${width}"`;
      reply.header('etag', etag).header('cache-control', 'private, max-age=3600');
      if (request.headers['if-none-match'] === etag) return reply.status(304).send(null);

      // Failures are not kept: a screenshot the store could not give may come back.
      const thumbnail = await thumbnails.fetch(`${artifactId}-${width}`, { context: { artifactId, screenId, width } });
      if (thumbnail === undefined) throw Errors.screenshotNotFound(screenId);
      return reply.type('image/webp').send(thumbnail);
    },
  );
};

export default thumbnailRoutes;
