import { execFile as execFileCallback } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports.js';

const execFile = promisify(execFileCallback);

/** The PostgreSQL server programs (initdb, pg_ctl, pg_basebackup) of the machine's version. */
export const POSTGRES_BIN = process.env.POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';

/** PostgreSQL refuses to run as root: as root, the servers run as this user. */
const SERVER_USER = 'postgres';

/**
 * A PostgreSQL primary and a hot standby streaming from it, both of a test's own: made with
 * `initdb` and `pg_basebackup -R` in a temporary directory, on loopback ports of their own, and
 * stopped (and removed) by `destroy`. The machine's own server is never touched.
 */
export class TestPostgresStandby {
  private constructor(
    private readonly dir: string,
    readonly primaryPort: number,
    readonly standbyPort: number,
    private readonly ids: { uid: number; gid: number } | undefined,
  ) {}

  /** Whether the programs are here (and, as root, the user to run them as). */
  static available(): boolean {
    return existsSync(join(POSTGRES_BIN, 'initdb')) && existsSync(join(POSTGRES_BIN, 'pg_basebackup'));
  }

  static async start(): Promise<TestPostgresStandby> {
    const dir = await mkdtemp(join(tmpdir(), 'sg-standby-'));
    const ids = process.getuid?.() === 0 ? await userIds(SERVER_USER) : undefined;
    if (ids) await chown(dir, ids.uid, ids.gid);
    const pair = new TestPostgresStandby(dir, await freePort(), await freePort(), ids);
    try {
      await pair.run('initdb', ['-D', pair.primaryDir, '-U', 'postgres', '--auth=trust', '--no-sync']);
      // Trust and replication from loopback come with --auth=trust; the rest is this pair's own.
      await appendFile(
        join(pair.primaryDir, 'postgresql.conf'),
        [
          `port = ${pair.primaryPort}`,
          "listen_addresses = '127.0.0.1'",
          `unix_socket_directories = '${dir}'`,
          'max_wal_senders = 4',
          'fsync = off',
          'shared_buffers = 32MB',
          '',
        ].join('\n'),
      );
      await pair.run('pg_ctl', ['-D', pair.primaryDir, '-l', join(dir, 'primary.log'), '-w', 'start']);
      await pair.run('pg_basebackup', [
        '-h',
        '127.0.0.1',
        '-p',
        String(pair.primaryPort),
        '-U',
        'postgres',
        '-D',
        pair.standbyDir,
        '-R',
        '-X',
        'stream',
      ]);
      await pair.startStandby();
      return pair;
    } catch (error) {
      await pair.destroy();
      throw error;
    }
  }

  /** A database on the primary, as a URL. */
  primaryUrl(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.primaryPort}/${database}`;
  }

  /** The same database on the standby. */
  standbyUrl(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.standbyPort}/${database}`;
  }

  /** Waits until the standby has replayed everything the primary has written so far. */
  async caughtUp(timeoutMs = 10_000): Promise<void> {
    const primary = new pg.Client({ connectionString: this.primaryUrl('postgres') });
    const standby = new pg.Client({ connectionString: this.standbyUrl('postgres') });
    await primary.connect();
    await standby.connect();
    try {
      const { rows } = await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { rows: replayed } = await standby.query<{ done: boolean }>(
          'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done',
          [rows[0]?.lsn],
        );
        if (replayed[0]?.done) return;
        if (Date.now() > deadline) throw new Error(`the standby did not catch up within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      await primary.end();
      await standby.end();
    }
  }

  async startStandby(): Promise<void> {
    await this.run('pg_ctl', [
      '-D',
      this.standbyDir,
      '-l',
      join(this.dir, 'standby.log'),
      '-o',
      `-p ${this.standbyPort} -k ${this.dir}`,
      '-w',
      'start',
    ]);
  }

  async stopStandby(): Promise<void> {
    await this.run('pg_ctl', ['-D', this.standbyDir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
  }

  /** Stops both servers and removes their directory. */
  async destroy(): Promise<void> {
    await this.stopStandby();
    await this.run('pg_ctl', ['-D', this.primaryDir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }

  private get primaryDir(): string {
    return join(this.dir, 'primary');
  }

  private get standbyDir(): string {
    return join(this.dir, 'standby');
  }

  private async run(program: string, args: string[]): Promise<void> {
    await execFile(join(POSTGRES_BIN, program), args, {
      ...(this.ids ? { uid: this.ids.uid, gid: this.ids.gid } : {}),
      cwd: this.dir,
      env: { ...process.env, PGHOST: '127.0.0.1' },
    });
  }
}

async function userIds(user: string): Promise<{ uid: number; gid: number }> {
  const { stdout: uid } = await execFile('id', ['-u', user]);
  const { stdout: gid } = await execFile('id', ['-g', user]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}
