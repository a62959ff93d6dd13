import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';

/** The nats-server binary for tests that start their own broker. */
export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/** Runs `work` with a NATS connection of its own. */
export async function withNats<T>(url: string, work: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: url });
  try {
    return await work(nc);
  } finally {
    await nc.close();
  }
}

/** Deletes a stream a test made; gone already is fine. */
export async function deleteStream(url: string, stream: string): Promise<void> {
  await withNats(url, async (nc) => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(stream).catch(() => false);
  });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/**
 * A nats-server with JetStream that a test owns: its own port and store directory, so the test
 * can stop it (a broker outage) and start it again on the same store.
 */
export class TestNatsServer {
  private process: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly storeDir: string,
  ) {}

  static available(): boolean {
    return existsSync(NATS_SERVER_BIN);
  }

  static async start(): Promise<TestNatsServer> {
    const server = new TestNatsServer(await freePort(), await mkdtemp(join(tmpdir(), 'sg-nats-')));
    await server.resume();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts (again) on the same port and store; resolves when it accepts connections. */
  async resume(): Promise<void> {
    this.process = spawn(NATS_SERVER_BIN, ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 100; i++) {
      try {
        await withNats(this.url, async () => undefined);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(`nats-server did not start on ${this.url}`);
  }

  /** Kills the server (no goodbye to clients) and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.kill();
    await rm(this.storeDir, { recursive: true, force: true });
  }
}

export interface StreamMessage {
  streamSeq: number;
  subject: string;
  headers: Record<string, string>;
  body: unknown;
}

/** Every message in a stream, in stream order. */
export async function streamMessages(url: string, stream: string): Promise<StreamMessage[]> {
  return withNats(url, async (nc) => {
    const jsm = await jetstreamManager(nc);
    const { state } = await jsm.streams.info(stream);
    const messages: StreamMessage[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const message = await jsm.streams.getMessage(stream, { seq });
      if (message === null) continue;
      const headers: Record<string, string> = {};
      for (const [key, values] of message.header ?? []) headers[key] = values[0] ?? '';
      let body: unknown;
      try {
        body = message.json();
      } catch {
        body = message.string(); // not JSON: a poison message a test put there
      }
      messages.push({ streamSeq: message.seq, subject: message.subject, headers, body });
    }
    return messages;
  });
}
