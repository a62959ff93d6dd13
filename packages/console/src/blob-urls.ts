import { LRUCache } from 'lru-cache';

/** What makes and drops blob URLs: the browser's URL, or a stand-in in tests. */
export interface ObjectUrls {
  createObjectURL(blob: Blob): string;
  revokeObjectURL(url: string): void;
}

/**
 * Images fetched with the token, shown from blob URLs: one fetch per path (requests for one that
 * is loading share it), and the least recently asked for revoked once they hold more than
 * `maxBytes` together, so a tab that watches runs for hours (a new screenshot at every step) does
 * not keep every image it ever showed. An image on the page stays drawn when its URL is revoked;
 * asking for its path again fetches it again. A path that gives nothing is not kept.
 */
export class BlobUrls {
  private readonly cache: LRUCache<string, { url: string; bytes: number }>;

  constructor(load: (path: string) => Promise<Blob | null>, maxBytes = 64 * 1024 * 1024, urls: ObjectUrls = URL) {
    this.cache = new LRUCache({
      maxSize: maxBytes,
      sizeCalculation: (entry) => Math.max(1, entry.bytes),
      dispose: (entry) => urls.revokeObjectURL(entry.url),
      fetchMethod: async (path) => {
        const blob = await load(path).catch(() => null);
        return blob === null ? undefined : { url: urls.createObjectURL(blob), bytes: blob.size };
      },
    });
  }

  async get(path: string): Promise<string | null> {
    return (await this.cache.fetch(path))?.url ?? null;
  }
}
