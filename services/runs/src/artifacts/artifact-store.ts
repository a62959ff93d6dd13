import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ObjectStore } from '@nats-io/obj';
import { artifactObjectName, Errors, newUlid } from '@screengraph/shared';
import { withTransaction } from '@screengraph/shared/postgres';
import type pg from 'pg';

export const ARTIFACT_KINDS = ['screenshot', 'ui_hierarchy', 'log', 'other'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

/** The media types each kind takes (the Content-Type without its parameters). */
const ACCEPTED: Record<ArtifactKind, { pattern: RegExp; description: string }> = {
  screenshot: { pattern: /^image\/(png|jpeg|webp)$/, description: 'image/png, image/jpeg or image/webp' },
  ui_hierarchy: {
    pattern: /^(application\/xml|text\/xml|application\/json)$/,
    description: 'application/xml, text/xml or application/json',
  },
  log: {
    pattern: /^(text\/[a-z0-9.+-]+|application\/json|application\/x-ndjson)$/,
    description: 'text/*, JSON or NDJSON',
  },
  other: { pattern: /^[a-z]+\/[a-z0-9.+-]+$/, description: 'any media type' },
};

export interface Artifact {
  artifactId: string;
  runId: string;
  kind: ArtifactKind;
  contentType: string;
  byteSize: number;
  sha256: string;
  createdAt: string;
}

interface ArtifactRow {
  artifact_id: string;
  run_id: string;
  kind: ArtifactKind;
  content_type: string;
  byte_size: number;
  sha256: string;
  created_at: Date;
}

const toArtifact = (row: ArtifactRow): Artifact => ({
  artifactId: row.artifact_id,
  runId: row.run_id,
  kind: row.kind,
  contentType: row.content_type,
  byteSize: row.byte_size,
  sha256: row.sha256,
  createdAt: row.created_at.toISOString(),
});

/** Checks a Content-Type against a kind; the media type, lower case, without parameters. */
export function mediaTypeFor(kind: ArtifactKind, contentType: string | undefined): string {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const accepted = ACCEPTED[kind];
  if (!accepted.pattern.test(mediaType)) {
    throw Errors.contentTypeNotForKind(contentType || '(none)', kind, accepted.description);
  }
  return mediaType;
}

/**
 * Artifacts: their bytes in a JetStream Object Store bucket, stored once per content (the object
 * is named by the SHA-256 of the bytes), plus a link per artifact (`artifacts/<id>`) for readers
 * that know only the id, like the graph service; `run_artifacts` is the index. Uploads and
 * deletions of the same content are serialised by an advisory lock on its hash, so a deletion
 * never removes bytes an upload just decided to reuse.
 */
export class ArtifactStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly objects: () => Promise<ObjectStore>,
    /** Told of every failed store operation (the plugin then fails requests at once until the store answers). */
    private readonly failed: (error: unknown) => void = () => undefined,
  ) {}

  /**
   * Runs an object store operation; a failure of the broker (disconnected, a timeout) is a 503 the
   * client may retry, not an internal error.
   */
  private async blob<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      this.failed(error);
      throw Errors.blobStoreUnavailable((error as Error).message);
    }
  }

  async upload(runId: string, kind: ArtifactKind, mediaType: string, bytes: Buffer): Promise<Artifact> {
    if (bytes.length === 0) throw Errors.emptyArtifact();
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const objects = await this.objects();
    return withTransaction(this.pool, async (client) => {
      // FOR KEY SHARE: the run cannot be deleted meanwhile, and its appends (which update its
      // row, not its key) go on while the store is waited for; FOR SHARE held them, and with them
      // every append grouped with theirs, for as long as a store without quorum took to time out.
      const run = await client.query('SELECT 1 FROM runs WHERE run_id = $1 FOR KEY SHARE', [runId]);
      if (run.rowCount === 0) throw Errors.runNotFound(runId);
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [sha256]);
      const artifactId = newUlid();
      await this.blob(async () => {
        let info = await objects.info(sha256);
        if (!info || info.deleted) info = await objects.putBlob({ name: sha256 }, bytes);
        await objects.link(artifactObjectName(artifactId), info);
      });
      const { rows } = await client.query<ArtifactRow>(
        `INSERT INTO run_artifacts (artifact_id, run_id, kind, content_type, byte_size, sha256, storage_key)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING *`,
        [artifactId, runId, kind, mediaType, bytes.length, sha256],
      );
      return toArtifact(rows[0] as ArtifactRow);
    });
  }

  async list(runId: string): Promise<Artifact[]> {
    const [run, artifacts] = await Promise.all([
      this.pool.query('SELECT 1 FROM runs WHERE run_id = $1', [runId]),
      this.pool.query<ArtifactRow>('SELECT * FROM run_artifacts WHERE run_id = $1 ORDER BY artifact_id', [runId]),
    ]);
    if (run.rowCount === 0) throw Errors.runNotFound(runId);
    return artifacts.rows.map(toArtifact);
  }

  async get(runId: string, artifactId: string): Promise<Artifact> {
    const { rows } = await this.pool.query<ArtifactRow>(
      'SELECT * FROM run_artifacts WHERE run_id = $1 AND artifact_id = $2',
      [runId, artifactId],
    );
    if (!rows[0]) throw Errors.artifactNotFound(runId, artifactId);
    return toArtifact(rows[0]);
  }

  /** The bytes of an artifact, streamed from the store chunk by chunk. */
  async content(artifact: Artifact): Promise<Readable> {
    const objects = await this.objects();
    const result = await this.blob(() => objects.get(artifact.sha256));
    if (!result) throw new Error(`the bytes of artifact ${artifact.artifactId} are missing from the store`);
    return Readable.fromWeb(result.data as Parameters<typeof Readable.fromWeb>[0]);
  }

  /**
   * Deletes a finished run: its rows (events, snapshots, artifacts: the foreign keys cascade),
   * its artifacts' links, and the bytes no other run's artifact still references.
   */
  async deleteRun(runId: string): Promise<void> {
    const artifacts = await withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ status: string }>('SELECT status FROM runs WHERE run_id = $1 FOR UPDATE', [
        runId,
      ]);
      const status = rows[0]?.status;
      if (status === undefined) throw Errors.runNotFound(runId);
      if (status === 'queued' || status === 'running') throw Errors.runNotFinished(runId, status);
      const listed = await client.query<{ artifact_id: string; sha256: string }>(
        'SELECT artifact_id, sha256 FROM run_artifacts WHERE run_id = $1',
        [runId],
      );
      await client.query('DELETE FROM runs WHERE run_id = $1', [runId]);
      return listed.rows;
    });
    if (artifacts.length === 0) return;
    const objects = await this.objects();
    for (const { artifact_id } of artifacts)
      await objects.delete(artifactObjectName(artifact_id)).catch(() => undefined);
    for (const sha256 of new Set(artifacts.map((artifact) => artifact.sha256))) {
      await withTransaction(this.pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [sha256]);
        const { rowCount } = await client.query('SELECT 1 FROM run_artifacts WHERE sha256 = $1 LIMIT 1', [sha256]);
        if (rowCount === 0) await objects.delete(sha256);
      });
    }
  }
}
