import type pg from 'pg';

/** The channel told, with the app package, when a screen, an action or an edge is added to its graph. */
export const GRAPH_CHANGED_CHANNEL = 'sg_graph_changed';

interface Logger {
  warn(details: object, message: string): void;
}

/**
 * Tells whoever caches an app's graph that it changed: this process's listeners at once, every
 * instance's (through `GRAPH_CHANGED_CHANNEL`) once per app and interval. Announced after the
 * commit rather than by NOTIFY in the projecting transaction: PostgreSQL serialises the commits
 * of notifying transactions, WAL flush included, and while an app is being discovered nearly
 * every projected event adds a row (measured: that took the append-to-edge lag at 500 events/s
 * from ~7 ms to 60–200 ms until the graph stopped growing). The price: an instance that dies
 * between a commit and its announcement leaves other instances' models of that app stale until
 * the app's next change.
 */
export class GraphChanges {
  private readonly local = new Set<(appPackage: string) => void>();
  private readonly due = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly pool: Pick<pg.Pool, 'query'>,
    private readonly log: Logger,
    private readonly intervalMs = 50,
  ) {}

  /** Calls `listener` with the app package of every change this process projects, at once. */
  onLocalChange(listener: (appPackage: string) => void): void {
    this.local.add(listener);
  }

  /** The app's graph changed in a transaction that has committed. */
  announce(appPackage: string): void {
    for (const listener of this.local) listener(appPackage);
    if (this.closed || this.due.has(appPackage)) return;
    const timer = setTimeout(() => {
      this.due.delete(appPackage);
      void this.send(appPackage);
    }, this.intervalMs);
    timer.unref();
    this.due.set(appPackage, timer);
  }

  /** Sends what is due now (before the pool closes). */
  async flush(): Promise<void> {
    this.closed = true;
    const apps = [...this.due.keys()];
    for (const timer of this.due.values()) clearTimeout(timer);
    this.due.clear();
    await Promise.all(apps.map((appPackage) => this.send(appPackage)));
  }

  private async send(appPackage: string): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [GRAPH_CHANGED_CHANNEL, appPackage]).catch((error: unknown) => {
      this.log.warn({ err: error, appPackage }, 'could not announce a graph change to other instances');
    });
  }
}
