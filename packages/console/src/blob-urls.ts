/** What makes and drops blob URLs: the browser's URL, or a stand-in in tests. */
export interface ObjectUrls {
  createObjectURL(blob: Blob): string;
  revokeObjectURL(url: string): void;
}

interface Entry {
  url: Promise<string | null>;
  /** Set once the bytes are in: the URL to revoke and what it holds. */
  made?: { url: string; bytes: number };
}

/**
 * Images fetched with the token, shown from blob URLs: one fetch per path, and the least recently
 * asked for revoked once they hold more than `maxBytes` together, so a tab that watches runs for
 * hours (a new screenshot at every step) does not keep every image it ever showed. An image on
 * the page stays drawn when its URL is revoked; asking for its path again fetches it again.
 */
export class BlobUrls {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(
    private readonly load: (path: string) => Promise<Blob | null>,
    private readonly maxBytes = 64 * 1024 * 1024,
    private readonly urls: ObjectUrls = URL,
  ) {}

  get(path: string): Promise<string | null> {
    const known = this.entries.get(path);
    if (known) {
      this.entries.delete(path);
      this.entries.set(path, known);
      return known.url;
    }
    const entry: Entry = { url: Promise.resolve(null) };
    entry.url = this.load(path).then(
      (blob) => {
        if (blob === null) return null;
        const url = this.urls.createObjectURL(blob);
        entry.made = { url, bytes: blob.size };
        this.bytes += blob.size;
        this.evict(entry);
        return url;
      },
      () => null,
    );
    this.entries.set(path, entry);
    return entry.url;
  }

  /** Revokes the least recently asked for until the rest fit, never `keep` nor what is still loading. */
  private evict(keep: Entry): void {
    for (const [path, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) return;
      if (entry === keep || entry.made === undefined) continue;
      this.entries.delete(path);
      this.urls.revokeObjectURL(entry.made.url);
      this.bytes -= entry.made.bytes;
    }
  }
}
