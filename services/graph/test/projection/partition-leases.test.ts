import { uniqueDatabase, withClient } from '@screengraph/testing';
import t, { type Test } from 'tap';
import { migrateGraphDatabase } from '../../src/migrations.js';
import { lockKey, PartitionLeases } from '../../src/projection/inputs/partition-leases.js';

const PARTITIONS = 16;
const GROUP = 'sgtest-projection';
const quiet = { info: () => undefined, warn: () => undefined };

/** A lease holder as a projecting instance runs it, with what it was told to consume. */
function member(databaseUrl: string, events: string[], name: string) {
  const consuming = new Set<number>();
  const leases = new PartitionLeases({
    databaseUrl,
    group: GROUP,
    partitions: PARTITIONS,
    intervalMs: 60_000,
    acquired: (partitions) => {
      for (const partition of partitions) consuming.add(partition);
    },
    releasing: async (partitions) => {
      // Still locked while the instance stops projecting them: nobody else takes them yet.
      const held = await lockedPartitions(databaseUrl);
      events.push(`${name} releases ${partitions.length}, ${partitions.every((p) => held.has(p)) ? 'locked' : 'FREE'}`);
      for (const partition of partitions) consuming.delete(partition);
    },
    log: quiet,
  });
  return { leases, consuming };
}

/** Partitions whose lock some session holds, and that session's pid, from pg_locks. */
async function lockedPartitions(databaseUrl: string): Promise<Map<number, number>> {
  return withClient(databaseUrl, async (db) => {
    const { rows } = await db.query<{ partition: number; pid: number }>(
      `SELECT objid::int AS partition, pid FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND objid < $1
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND classid = $2::bigint::oid`,
      [PARTITIONS, lockKey(`${GROUP}/partitions`) >>> 0],
    );
    return new Map(rows.map((row) => [row.partition, row.pid]));
  });
}

/** Every partition owned by exactly one member, and what each was told matches what it holds. */
function partitioned(t: Test, members: ReturnType<typeof member>[]): number[] {
  const all = members.flatMap(({ leases }) => [...leases.owned]);
  t.same(
    [...all].sort((a, b) => a - b),
    Array.from({ length: PARTITIONS }, (_, i) => i),
    'each partition owned once',
  );
  for (const { leases, consuming } of members) t.same([...consuming].sort(), [...leases.owned].sort());
  return members.map(({ leases }) => leases.owned.size);
}

t.test(
  'projecting instances share the partitions fairly and take those of one that leaves or loses its connection',
  async (t) => {
    const database = uniqueDatabase('graph_leases');
    await migrateGraphDatabase(database.url);
    t.teardown(() => database.drop());
    const events: string[] = [];
    const a = member(database.url, events, 'a');
    const b = member(database.url, events, 'b');
    const c = member(database.url, events, 'c');
    t.teardown(() => Promise.all([a, b, c].map(({ leases }) => leases.stop())));

    await a.leases.check();
    t.equal(a.leases.owned.size, PARTITIONS, 'alone, one instance projects every partition');

    // A second instance: nothing is free yet; the first gives up its surplus, the second takes it.
    await b.leases.check();
    t.equal(b.leases.owned.size, 0);
    await a.leases.check();
    await b.leases.check();
    t.same(partitioned(t, [a, b]), [8, 8]);

    await c.leases.check();
    await a.leases.check();
    await b.leases.check();
    await c.leases.check();
    t.same(partitioned(t, [a, b, c]), [6, 6, 4], 'three instances: shares of at most ⌈16/3⌉');
    t.ok(
      events.every((event) => event.endsWith('locked')),
      'partitions stay locked until their instance stopped projecting them',
      { events },
    );

    // One leaves: its partitions are free at once, the others take them at their next check.
    await a.leases.stop();
    t.equal(a.leases.owned.size, 0);
    t.equal(a.consuming.size, 0);
    await b.leases.check();
    await c.leases.check();
    t.same(partitioned(t, [b, c]), [8, 8]);

    const terminate = async (one: ReturnType<typeof member>) => {
      const held = await lockedPartitions(database.url);
      const pid = held.get([...one.leases.owned][0] as number);
      await withClient(database.url, (db) => db.query('SELECT pg_terminate_backend($1)', [pid]));
    };

    // A blip: the connection lost, nobody else takes the partitions; it goes on and locks them again.
    const before = [...b.leases.owned];
    await terminate(b);
    await b.leases.check();
    t.same([...b.consuming].sort(), before.sort(), 'a lost connection stops nothing');
    await b.leases.check();
    t.same(partitioned(t, [b, c]), [8, 8], 'locked again, all of them');
    t.same([...(await lockedPartitions(database.url)).keys()].length, PARTITIONS);

    // Lost while the other checks (as when its process dies): the other takes them; once back,
    // the first gives up what it could not lock again, then gets its share.
    await terminate(b);
    await b.leases.check();
    await c.leases.check();
    t.equal(c.leases.owned.size, PARTITIONS, 'the remaining instance takes the lost one’s partitions');
    await b.leases.check();
    t.equal(b.leases.owned.size, 0, 'what another took meanwhile is given up');
    t.equal(b.consuming.size, 0);
    t.same(partitioned(t, [c]), [16]);
    await c.leases.check();
    await b.leases.check();
    t.same(partitioned(t, [b, c]), [8, 8]);
  },
);
