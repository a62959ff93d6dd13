import pg from 'pg';
import { backoffDelay } from './backoff.js';

/** The `application_name` of the connection listening on `channel`. */
export function listenerName(channel: string): string {
  return `listen ${channel}`;
}

type NotificationHandler = (payload: string) => void;
type ResumeHandler = () => void;

/**
 * One LISTEN connection on one channel: hears each notification, from any instance, the moment
 * the transaction that sent it commits. Reconnects with backoff; after every (re)connect it tells
 * its handlers to catch up, as notifications sent meanwhile are lost.
 */
export class ChannelListener {
  private readonly commitHandlers: NotificationHandler[] = [];
  private readonly resumeHandlers: ResumeHandler[] = [];
  private client: pg.Client | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(
    private readonly databaseUrl: string,
    private readonly channel: string,
    private readonly log: { warn(details: object, message: string): void },
  ) {}

  /** Called with the payload of each notification. */
  onCommit(handler: NotificationHandler): void {
    this.commitHandlers.push(handler);
  }

  onResume(handler: ResumeHandler): void {
    this.resumeHandlers.push(handler);
  }

  /** Resolves once listening; later connection losses are retried in the background. */
  async start(): Promise<void> {
    await this.connect();
  }

  /** Whether the listening connection is up (`query` can use it). */
  get connected(): boolean {
    return this.client !== undefined;
  }

  /**
   * Runs a statement on the listening connection. A session that notifies a channel it listens on
   * hears its own notification in the reply to that statement: sent here, a notification costs
   * PostgreSQL no second backend to wake and this process no second read.
   */
  async query(sql: string): Promise<void> {
    if (!this.client) throw new Error(`listener of ${this.channel} is not connected`);
    await this.client.query(sql);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    // Named, so that pg_stat_activity tells the listening backend from the pool's.
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: listenerName(this.channel) });
    client.on('notification', (message) => {
      if (message.channel !== this.channel || !message.payload) return;
      for (const handler of this.commitHandlers) handler(message.payload);
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    await client.connect();
    await client.query(`LISTEN ${pg.escapeIdentifier(this.channel)}`);
    this.client = client;
    this.failures = 0;
    for (const handler of this.resumeHandlers) handler();
  }

  private lost(client: pg.Client, error?: Error): void {
    if (this.stopped || this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    this.log.warn({ err: error }, `listener of ${this.channel} lost its connection; reconnecting`);
    this.retry();
  }

  private retry(): void {
    const delay = backoffDelay(this.failures++, { initialMs: 100, maxMs: 5000 });
    this.retryTimer = setTimeout(() => {
      if (this.stopped) return;
      this.connect().catch((error: unknown) => {
        this.log.warn({ err: error }, `listener of ${this.channel} could not reconnect`);
        this.retry();
      });
    }, delay);
    this.retryTimer.unref();
  }
}
