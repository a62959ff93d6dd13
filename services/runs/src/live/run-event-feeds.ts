import type { StoredEvent } from '../runs/runs-repository.js';

/** The run a feed follows: its app package is part of every envelope. */
export interface FeedRun {
  runId: string;
  appPackage: string;
}

/** Reads a run's events after a seq, in seq order. */
export type ReadEvents = (run: FeedRun, afterSeq: number, limit: number) => Promise<StoredEvent[]>;

const PAGE = 500;

/** What a subscriber receives: events in commit order, possibly some it already has. */
export interface FeedSubscription extends AsyncIterable<StoredEvent> {
  close(): void;
}

class Subscriber implements FeedSubscription {
  private readonly queue: StoredEvent[] = [];
  private notify: (() => void) | undefined;
  closed = false;

  constructor(private readonly onClose: (subscriber: Subscriber) => void) {}

  push(events: StoredEvent[]): void {
    if (this.closed) return;
    this.queue.push(...events);
    this.notify?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.notify?.();
    this.onClose(this);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StoredEvent> {
    while (!this.closed) {
      const event = this.queue.shift();
      if (event !== undefined) {
        yield event;
        continue;
      }
      await new Promise<void>((resolve) => {
        this.notify = resolve;
      });
      this.notify = undefined;
    }
  }
}

/** One run's live feed: one read per commit, fanned out to every subscriber. */
class Feed {
  readonly subscribers = new Set<Subscriber>();
  private reading = false;
  private again = false;

  constructor(
    private readonly run: FeedRun,
    private lastSeq: number,
    private readonly read: ReadEvents,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Something committed: read what is new once, however many subscribers wait for it. */
  poke(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void this.drain();
  }

  private async drain(): Promise<void> {
    try {
      do {
        this.again = false;
        let page: StoredEvent[];
        do {
          page = await this.read(this.run, this.lastSeq, PAGE);
          const last = page.at(-1);
          if (last) this.lastSeq = last.seq;
          for (const subscriber of this.subscribers) subscriber.push(page);
        } while (page.length === PAGE);
      } while (this.again);
    } catch (error) {
      this.onError(error);
    } finally {
      this.reading = false;
    }
  }
}

/**
 * Live events per run for every stream open on this instance. Many subscribers of one run cost
 * one feed: one database read per commit notification, not one per subscriber.
 */
export class RunEventFeeds {
  private readonly feeds = new Map<string, Feed>();

  constructor(
    private readonly read: ReadEvents,
    private readonly onError: (error: unknown) => void,
  ) {}

  /**
   * Live events of a run committed after `headSeq` (a seq known committed when subscribing).
   * A subscriber reads its backlog after subscribing and skips what it already has.
   */
  subscribe(run: FeedRun, headSeq: number): FeedSubscription {
    const { runId } = run;
    let feed = this.feeds.get(runId);
    if (!feed) {
      feed = new Feed(run, headSeq, this.read, this.onError);
      this.feeds.set(runId, feed);
    }
    const owner = feed;
    const subscriber = new Subscriber((gone) => {
      owner.subscribers.delete(gone);
      if (owner.subscribers.size === 0 && this.feeds.get(runId) === owner) this.feeds.delete(runId);
    });
    feed.subscribers.add(subscriber);
    return subscriber;
  }

  /** A commit wrote events of this run. */
  announce(runId: string): void {
    this.feeds.get(runId)?.poke();
  }

  /** Notifications may have been missed: every feed reads what is new. */
  announceAll(): void {
    for (const feed of this.feeds.values()) feed.poke();
  }

  /** Number of runs with live subscribers: one upstream read path each. */
  get size(): number {
    return this.feeds.size;
  }

  closeAll(): void {
    for (const feed of this.feeds.values()) for (const subscriber of feed.subscribers) subscriber.close();
  }
}
