import { backoffDelay, fnv1a32 } from '@screengraph/shared';
import pg from 'pg';

export interface PartitionLeasesOptions {
  databaseUrl: string;
  /** Names the instances sharing the partitions (the projection's durable consumer name). */
  group: string;
  partitions: number;
  /** How often this instance checks its share (and how soon it takes a dead instance's partitions). */
  intervalMs: number;
  /** Partitions this instance owns from now on: to consume. */
  acquired: (partitions: number[]) => void;
  /** Partitions this instance gives up: resolves once it stopped projecting them. */
  releasing: (partitions: number[]) => Promise<void>;
  log: {
    info(details: object, message: string): void;
    warn(details: object, message: string): void;
  };
}

/** Member slots an instance may take: more instances than this do not project. */
const MEMBER_SLOTS = 256;

/** A text's 32-bit FNV-1a, as PostgreSQL's advisory lock keys take it (signed). */
export function lockKey(text: string): number {
  return fnv1a32(text) | 0;
}

/**
 * Which of the run event partitions this instance projects, agreed with the other projecting
 * instances through PostgreSQL advisory locks on one connection of its own: each instance holds a
 * member lock, and a lock per partition it owns. Every `intervalMs` an instance counts the members
 * and keeps its fair share (partitions / members, rounded up): it gives up what is over (after it
 * stopped projecting them) and takes free partitions while it is under. An instance that dies
 * loses its connection and with it its locks, and the others take its partitions at their next
 * check; its unacknowledged messages come again after the consumer's ack wait. An instance whose
 * connection is lost goes on projecting its partitions, and locks them again once connected (the
 * ones another instance took meanwhile it gives up).
 *
 * The locks only spread the work: two instances projecting a partition at once (a handover, a
 * connection lost while its consumer still runs) is safe, as the projection's cursors make it; it
 * only costs the careful way for the runs involved.
 */
export class PartitionLeases {
  readonly owned = new Set<number>();
  private client: pg.Client | null = null;
  private slot = -1;
  private readonly memberKey: number;
  private readonly partitionKey: number;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> = Promise.resolve();
  private stopped = false;
  private failures = 0;
  /** The connection was lost while partitions were owned: they are to be locked again. */
  private relock = false;

  constructor(private readonly options: PartitionLeasesOptions) {
    this.memberKey = lockKey(`${options.group}/members`);
    this.partitionKey = lockKey(`${options.group}/partitions`);
  }

  /** Checks at once, then every interval (sooner again after a failure, with backoff). */
  start(): void {
    this.schedule(0);
  }

  /** Gives up every partition (after their projection stopped) and closes the connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.checking;
    await this.giveUp([...this.owned]);
    await this.disconnect();
  }

  /** One check of this instance's share; exposed for tests, which do not wait for the interval. */
  check(): Promise<void> {
    this.checking = this.checking.then(() => this.balance());
    return this.checking;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.check().then(() =>
        this.schedule(
          this.failures === 0
            ? this.options.intervalMs
            : backoffDelay(this.failures - 1, { initialMs: 250, maxMs: this.options.intervalMs * 4 }),
        ),
      );
    }, ms);
  }

  private async balance(): Promise<void> {
    if (this.stopped) return;
    try {
      const client = await this.connected();
      if (this.relock) await this.lockAgain(client);
      const members = await this.members(client);
      const share = Math.ceil(this.options.partitions / Math.max(1, members));
      if (this.owned.size > share) {
        const over = [...this.owned].sort((a, b) => b - a).slice(0, this.owned.size - share);
        await this.giveUp(over);
      }
      if (this.owned.size < share) await this.take(client, share);
      this.failures = 0;
    } catch (error) {
      // The locks went with the connection. This instance goes on projecting what it owned (a
      // database blip must not stop the projection for an ack wait): another instance may take
      // some of those partitions meanwhile, which is safe; once connected again, it keeps those it
      // can lock again and gives up the others.
      if (this.failures++ === 0)
        this.options.log.warn({ err: error, owned: this.owned.size }, 'partition leases lost; locking them again');
      this.relock = this.owned.size > 0;
      await this.disconnect();
    }
  }

  /** After a lost connection: locks what this instance still projects again, and gives up what another took. */
  private async lockAgain(client: pg.Client): Promise<void> {
    const lost: number[] = [];
    for (const partition of this.owned) {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [
        this.partitionKey,
        partition,
      ]);
      if (!rows[0]?.locked) lost.push(partition);
    }
    this.relock = false;
    if (lost.length > 0) {
      await this.options.releasing(lost);
      for (const partition of lost) this.owned.delete(partition);
      this.options.log.info(
        { partitions: lost, owned: this.owned.size },
        'partitions another instance took meanwhile given up',
      );
    }
  }

  /** Free partitions, from this member's place on (members start at different ones), up to the share. */
  private async take(client: pg.Client, share: number): Promise<void> {
    const { partitions } = this.options;
    const taken: number[] = [];
    const first = (this.slot * share) % partitions;
    for (let i = 0; i < partitions && this.owned.size < share; i++) {
      const partition = (first + i) % partitions;
      if (this.owned.has(partition)) continue;
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [
        this.partitionKey,
        partition,
      ]);
      if (!rows[0]?.locked) continue;
      this.owned.add(partition);
      taken.push(partition);
    }
    if (taken.length > 0) {
      this.options.log.info({ partitions: taken, owned: this.owned.size }, 'projecting more partitions');
      this.options.acquired(taken);
    }
  }

  /** Stops projecting these partitions, then unlocks them (the connection may be gone: then they are free already). */
  private async giveUp(partitions: number[]): Promise<void> {
    if (partitions.length === 0) return;
    await this.options.releasing(partitions);
    for (const partition of partitions) {
      this.owned.delete(partition);
      await this.client
        ?.query('SELECT pg_advisory_unlock($1, $2)', [this.partitionKey, partition])
        .catch(() => undefined);
    }
    this.options.log.info({ partitions, owned: this.owned.size }, 'partitions handed over');
  }

  /** Instances holding a member lock of this group (in this database), this one included. */
  private async members(client: pg.Client): Promise<number> {
    const { rows } = await client.query<{ members: number }>(
      `SELECT count(*)::int AS members FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = $1::bigint::oid
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [this.memberKey >>> 0],
    );
    return rows[0]?.members ?? 1;
  }

  /** This instance's own connection, with a member slot held. */
  private async connected(): Promise<pg.Client> {
    if (this.client) return this.client;
    // Bounded waits: a connection that hangs (a network partition, no reset) must not hold the checks, or a stop.
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      keepAlive: true,
      connectionTimeoutMillis: 5000,
      query_timeout: 10_000,
    });
    // A connection that breaks is found by the next check's query; the event must not end the process.
    client.on('error', () => undefined);
    await client.connect();
    try {
      for (let slot = 0; slot < MEMBER_SLOTS; slot++) {
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [
          this.memberKey,
          slot,
        ]);
        if (!rows[0]?.locked) continue;
        this.slot = slot;
        this.client = client;
        return client;
      }
      throw new Error(`more than ${MEMBER_SLOTS} instances project run events`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  private async disconnect(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
