import { randomBytes } from 'node:crypto';
import { isUlid } from '@screengraph/shared';
import { ChannelListener } from '@screengraph/shared/postgres';
import type { FastifyBaseLogger } from 'fastify';
import pg from 'pg';

/** The PostgreSQL channel on which instances tell each other which runs' events committed. */
export const RUN_EVENTS_CHANNEL = 'sg_run_events';

/** Run ids per notification: 26 characters and a space each stay well inside NOTIFY's 8,000 bytes. */
const RUNS_PER_NOTIFICATION = 250;

type CommitHandler = (runId: string) => void;

/** The payload after `<instance>:` by which an instance says it listens (not a run id: older instances ignore it). */
const PRESENT = 'present';

export interface RunCommitsOptions {
  /**
   * How often an instance says on the channel that it listens (default 2 s). An instance that has
   * heard no other for three of these intervals stops notifying until it hears one.
   */
  presenceIntervalMs?: number;
}

/**
 * Which runs' events committed, told to whoever follows them (the relay, the live streams): this
 * instance's handlers at once, the other instances' through `RUN_EVENTS_CHANNEL`, heard by one
 * LISTEN connection per instance.
 *
 * Appends do not NOTIFY in their own transactions: PostgreSQL commits every notifying transaction
 * under one global lock, held through its WAL flush, so notifying appends cannot share a flush
 * (measured in bench:ingest: single-event appends from 8 agents reached 0.21 of the raw commit
 * rate that way). Instead, after the commit, the run is queued here, and one notification at a time
 * goes out (a transaction of its own, which writes no WAL), carrying every run that committed since
 * the previous one went out: other instances hear of a commit about one notification later, a few
 * milliseconds. It goes out on the LISTEN connection itself, which hears it back in the same reply,
 * rather than on a pooled one, whose notification PostgreSQL must also deliver to this instance's
 * listening backend (a wake-up and a read more a notification: single-event appends from 8 agents
 * gained 10–20 % in bench:append-ab). An instance that dies between a commit and its notification
 * leaves the others to find those events at their next sweep, as after any missed notification.
 *
 * Nobody hears a notification when no other instance listens, the common case of a single
 * instance; there it cost a fifth of PostgreSQL's work per single-event append and two syscalls of
 * this process per group (+4–16 % appends in bench:append-ab). So every instance says it is present
 * on the channel when it starts listening and then every `presenceIntervalMs`, and an instance
 * that has heard no other for three intervals keeps its commits to itself. The moment it hears one
 * again (a new instance says so right after its LISTEN), it announces the runs it committed
 * meanwhile, so a commit made between the newcomer's LISTEN and its being heard is not missed; the
 * newcomer catches up on everything before its LISTEN, as after any (re)connect. While its own
 * listener is down, an instance cannot tell and notifies. An instance from before this protocol
 * never says it is present: during a rolling upgrade it finds this one's commits at its sweep.
 *
 * A notification's payload is `<instance>:<runId> <runId> …` or `<instance>:present`; a bare run
 * id (from an older instance, or `NOTIFY` by hand) is taken too. An instance skips its own
 * notifications.
 */
export class RunCommits {
  /** This process among the instances sharing the database. */
  readonly instance = randomBytes(6).toString('hex');
  private readonly handlers: CommitHandler[] = [];
  private readonly resumeHandlers: (() => void)[] = [];
  private readonly listener: ChannelListener;
  private readonly pending = new Set<string>();
  private sending: Promise<void> | null = null;
  private closed = false;
  private readonly presenceIntervalMs: number;
  private presenceTimer: NodeJS.Timeout | undefined;
  /** When another instance was last heard; a new instance takes the others to be there at first. */
  private othersHeardAt = performance.now();
  /** Runs committed while no other instance was heard, by when: told to the next one heard. */
  private readonly untold = new Map<string, number>();
  /** Notifications sent, the run ids they carried, and the runs kept back while alone (for the tests). */
  readonly sent = { notifications: 0, runs: 0, untold: 0 };

  constructor(
    private readonly pool: pg.Pool,
    databaseUrl: string,
    private readonly log: FastifyBaseLogger,
    options: RunCommitsOptions = {},
  ) {
    this.presenceIntervalMs = options.presenceIntervalMs ?? 2000;
    this.listener = new ChannelListener(databaseUrl, RUN_EVENTS_CHANNEL, log);
    this.listener.onCommit((payload) => this.heard(payload));
    this.listener.onResume(() => {
      // Others' presence went unheard while disconnected: take them to be there, as at the start.
      this.othersHeardAt = performance.now();
      this.sayPresent();
      for (const handler of this.resumeHandlers) handler();
    });
  }

  /** Called with the run id of each commit that wrote its events, on this instance or another. */
  onCommit(handler: CommitHandler): void {
    this.handlers.push(handler);
  }

  /** Called after the listener (re)connects: notifications sent meanwhile are lost, catch up. */
  onResume(handler: () => void): void {
    this.resumeHandlers.push(handler);
  }

  /** Resolves once listening; a lost connection is retried in the background. */
  async start(): Promise<void> {
    await this.listener.start();
    this.presenceTimer = setInterval(() => {
      this.sayPresent();
      this.forgetUntold();
    }, this.presenceIntervalMs);
    this.presenceTimer.unref();
  }

  /** A transaction that wrote the run's events has committed. */
  committed(runId: string): void {
    for (const handler of this.handlers) handler(runId);
    if (this.closed) return;
    if (this.alone()) {
      // Re-inserted, so the map stays in order of the last commit (forgetUntold takes the oldest first).
      this.untold.delete(runId);
      this.untold.set(runId, performance.now());
      this.sent.untold++;
      return;
    }
    this.pending.add(runId);
    this.sending ??= this.send();
  }

  /** Whether no other instance can be listening: none heard for three presence intervals, and this one hears. */
  alone(): boolean {
    return this.listener.connected && performance.now() - this.othersHeardAt > 3 * this.presenceIntervalMs;
  }

  /** Sends what is still pending and stops listening. */
  async stop(): Promise<void> {
    this.closed = true;
    clearInterval(this.presenceTimer);
    while (this.sending) await this.sending;
    if (this.pending.size > 0) await this.send();
    await this.listener.stop();
  }

  private async send(): Promise<void> {
    try {
      while (this.pending.size > 0) {
        const runIds = [...this.pending];
        this.pending.clear();
        const payloads: string[] = [];
        for (let start = 0; start < runIds.length; start += RUNS_PER_NOTIFICATION) {
          payloads.push(`${this.instance}:${runIds.slice(start, start + RUNS_PER_NOTIFICATION).join(' ')}`);
        }
        // One statement, one round trip: the payloads are hex and ULIDs, quoted all the same. A
        // transaction that only notifies writes no WAL: its commit waits for no flush.
        const notify = payloads
          .map((payload) => `pg_notify('${RUN_EVENTS_CHANNEL}', ${pg.escapeLiteral(payload)})`)
          .join(', ');
        try {
          await this.notify(`SELECT ${notify}`);
          this.sent.notifications += payloads.length;
          this.sent.runs += runIds.length;
        } catch (error) {
          // The other instances' sweeps find these runs' events.
          this.log.warn({ err: error, runs: runIds.length }, 'could not tell other instances of commits');
        }
      }
    } finally {
      this.sending = null;
    }
  }

  /**
   * Runs the notifying statement (its own transaction) on the listening connection, which hears the
   * notification back in the same reply; through the pool while the listener reconnects.
   */
  private async notify(sql: string): Promise<void> {
    await (this.listener.connected ? this.listener.query(sql) : this.pool.query(sql));
  }

  /** Tells the other instances this one listens; skipped while the listener reconnects (it says so once back). */
  private sayPresent(): void {
    if (this.closed || !this.listener.connected) return;
    this.notify(`SELECT pg_notify('${RUN_EVENTS_CHANNEL}', '${this.instance}:${PRESENT}')`).catch((error: unknown) => {
      this.log.warn({ err: error }, 'could not tell other instances this one listens');
    });
  }

  /** Another instance is there: after a time alone, it is told of the runs committed meanwhile. */
  private heardOther(): void {
    const wasAlone = this.alone();
    this.othersHeardAt = performance.now();
    if (!wasAlone || this.untold.size === 0 || this.closed) return;
    for (const runId of this.untold.keys()) this.pending.add(runId);
    this.untold.clear();
    this.sending ??= this.send();
  }

  /**
   * Forgets runs committed alone more than three intervals ago: a newcomer is heard milliseconds
   * after its LISTEN, and it catches up on everything committed before that LISTEN itself.
   */
  private forgetUntold(): void {
    const before = performance.now() - 3 * this.presenceIntervalMs;
    for (const [runId, at] of this.untold) {
      if (at >= before) break;
      this.untold.delete(runId);
    }
  }

  private heard(payload: string): void {
    const colon = payload.indexOf(':');
    if (colon >= 0 && payload.slice(0, colon) === this.instance) return;
    this.heardOther();
    for (const runId of payload.slice(colon + 1).split(' ')) {
      if (isUlid(runId)) for (const handler of this.handlers) handler(runId);
    }
  }
}
