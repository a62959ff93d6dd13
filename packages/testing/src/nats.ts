import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { freePort } from './ports.js';

/** The nats-server binary for tests that start their own broker. */
export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/** Runs `work` with a NATS connection of its own. */
export async function withNats<T>(url: string, work: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: url.split(',') });
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

/** Whether a server process was started and has not exited. */
function running(child: ChildProcess | undefined): child is ChildProcess {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

/**
 * Waits (20 s at most) until a nats-server just started accepts connections; fails at once, with
 * the end of its log when it has one, if the process exited first (a port taken meanwhile, say).
 */
async function untilServing(url: string, what: string, child?: ChildProcess, log?: string): Promise<void> {
  const exited = () => child !== undefined && !running(child);
  const deadline = Date.now() + 20_000;
  while (!exited()) {
    try {
      await withNats(url, async () => undefined);
      return;
    } catch {
      if (Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const tail = log ? (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n') : '';
  throw new Error(`${what} did not start on ${url}${exited() ? ' (it exited)' : ''}${tail ? `:\n${tail}` : ''}`);
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
    await untilServing(this.url, 'nats-server', this.process);
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

/** What one node holds of a stream. */
export interface StreamCopy {
  messages: number;
  first_seq: number;
  last_seq: number;
}

/** The part of a node's /jsz?streams=true answer read here. */
interface JszStreams {
  account_details?: { stream_detail?: { name: string; state: StreamCopy }[] }[];
}

/** One node of a TestNatsCluster. */
interface ClusterNode {
  name: string;
  port: number;
  clusterPort: number;
  /** Its monitoring endpoint (/jsz): what this node itself holds of each stream. */
  httpPort: number;
  config: string;
  text: string;
  process: ChildProcess | undefined;
}

/**
 * A three-node (or more) nats-server JetStream cluster that a test owns, on loopback ports of its
 * own with a store directory per node: nodes can be killed, stopped gracefully and started again.
 */
export class TestNatsCluster {
  private constructor(
    private readonly nodes: ClusterNode[],
    private readonly dir: string,
  ) {}

  static available(): boolean {
    return existsSync(NATS_SERVER_BIN);
  }

  /** Starts the nodes on free ports; once more on others when a node could not start (a port taken meanwhile). */
  static async start(size = 3): Promise<TestNatsCluster> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await TestNatsCluster.startOn(size);
      } catch (error) {
        if (attempt === 3) throw error;
      }
    }
  }

  private static async startOn(size: number): Promise<TestNatsCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'sg-nats-cluster-'));
    const ports: { port: number; clusterPort: number; httpPort: number }[] = [];
    for (let i = 0; i < size; i++)
      ports.push({ port: await freePort(), clusterPort: await freePort(), httpPort: await freePort() });
    const nodes = ports.map(({ port, clusterPort, httpPort }, i) => {
      const name = `n${i + 1}`;
      const routes = ports.filter((_, j) => j !== i).map((other) => `    nats-route://127.0.0.1:${other.clusterPort}`);
      // One key per line: nats-server 2.9 reads this layout without surprises.
      const config = [
        `server_name: ${name}`,
        `listen: 127.0.0.1:${port}`,
        `http: 127.0.0.1:${httpPort}`,
        // Lame duck (SIGUSR2) moves the clients off over 30 s (the least 2.9 takes), then stops.
        'lame_duck_duration: "30s"',
        'lame_duck_grace_period: "1s"',
        'jetstream {',
        `  store_dir: "${join(dir, name)}"`,
        '}',
        'cluster {',
        '  name: sgtest',
        `  listen: 127.0.0.1:${clusterPort}`,
        '  routes: [',
        ...routes,
        '  ]',
        '}',
        '',
      ].join('\n');
      return { name, port, clusterPort, httpPort, config: join(dir, `${name}.conf`), process: undefined, text: config };
    });
    for (const node of nodes) await writeFile(node.config, node.text);
    const cluster = new TestNatsCluster(nodes, dir);
    try {
      await Promise.all(nodes.map((_, i) => cluster.startNode(i)));
      await cluster.untilJetStream();
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  /** Every node's URL, comma-separated, as NATS_URL takes them. */
  get url(): string {
    return this.nodes.map((node) => `nats://127.0.0.1:${node.port}`).join(',');
  }

  urlOf(name: string): string {
    return `nats://127.0.0.1:${this.node(name).port}`;
  }

  get names(): string[] {
    return this.nodes.map((node) => node.name);
  }

  /** Starts a node (again, on its store); resolves when it accepts connections. */
  async start(name: string): Promise<void> {
    await this.startNode(this.nodes.indexOf(this.node(name)));
  }

  /**
   * SIGKILL (a crash), SIGTERM (a graceful stop: leadership handed over first) or SIGUSR2 (lame
   * duck: no new clients, the connected ones closed over 30 s, then a graceful stop); waits for the exit.
   */
  async stop(name: string, signal: 'SIGKILL' | 'SIGTERM' | 'SIGUSR2' = 'SIGKILL'): Promise<void> {
    const child = this.node(name).process;
    if (!running(child)) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** The node leading a stream now, or undefined while it has none. */
  async leaderOf(stream: string): Promise<string | undefined> {
    return withNats(this.url, async (nc) => {
      const jsm = await jetstreamManager(nc, { timeout: 1000 });
      return (await jsm.streams.info(stream)).cluster?.leader;
    }).catch(() => undefined);
  }

  /**
   * What each running node itself holds of a stream now (its messages and first and last
   * sequence), read from its monitoring endpoint; a node without a copy yet is left out.
   */
  async copiesOf(stream: string): Promise<Map<string, StreamCopy>> {
    const copies = new Map<string, StreamCopy>();
    for (const node of this.nodes) {
      if (!running(node.process)) continue;
      const jsz = (await fetch(`http://127.0.0.1:${node.httpPort}/jsz?streams=true`, {
        signal: AbortSignal.timeout(2000),
      })
        .then((res) => res.json())
        .catch(() => undefined)) as JszStreams | undefined;
      const detail = jsz?.account_details
        ?.flatMap((account) => account.stream_detail ?? [])
        .find((d) => d.name === stream);
      if (detail) copies.set(node.name, detail.state);
    }
    return copies;
  }

  /** Waits until every running node's own copy of a stream holds its messages 1..lastSeq; how long that took. */
  async untilCopied(stream: string, lastSeq: number, timeoutMs = 30_000): Promise<number> {
    const started = Date.now();
    for (;;) {
      const copies = [...(await this.copiesOf(stream)).values()];
      const held = (copy: StreamCopy) => copy.first_seq === 1 && copy.last_seq >= lastSeq;
      if (copies.length === this.nodes.filter((node) => running(node.process)).length && copies.every(held))
        return Date.now() - started;
      if (Date.now() - started > timeoutMs)
        throw new Error(`stream ${stream}: not copied to every node after ${timeoutMs} ms: ${JSON.stringify(copies)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Waits until the stream has a leader; its name. */
  async untilLeader(stream: string, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = await this.leaderOf(stream);
      if (leader) return leader;
      if (Date.now() > deadline) throw new Error(`stream ${stream} has no leader after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /**
   * Waits until the stream has a leader and every replica has caught up with it, so that a read
   * (a direct get may be answered by any replica) sees everything the leader holds.
   */
  async untilCurrent(stream: string, replicas: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const caughtUp = await withNats(this.url, async (nc) => {
        const info = await (await jetstreamManager(nc, { timeout: 1000 })).streams.info(stream);
        const followers = info.cluster?.replicas ?? [];
        return (
          info.cluster?.leader !== undefined &&
          followers.length === replicas - 1 &&
          followers.every((follower) => follower.current && !follower.offline && (follower.lag ?? 0) === 0)
        );
      }).catch(() => false);
      if (caughtUp) return;
      if (Date.now() > deadline) throw new Error(`stream ${stream}: replicas not caught up after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((node) => this.stop(node.name)));
    await rm(this.dir, { recursive: true, force: true });
  }

  private node(name: string): ClusterNode {
    const node = this.nodes.find((candidate) => candidate.name === name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  }

  private async startNode(index: number): Promise<void> {
    const node = this.nodes[index] as ClusterNode;
    const log = join(this.dir, `${node.name}.log`);
    node.process = spawn(NATS_SERVER_BIN, ['-c', node.config, '-l', log], { stdio: 'ignore' });
    await untilServing(`nats://127.0.0.1:${node.port}`, `nats-server ${node.name}`, node.process, log);
  }

  /** Waits until the cluster's JetStream answers (its meta leader is elected). */
  private async untilJetStream(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await withNats(this.url, async (nc) => {
          await (await jetstreamManager(nc, { timeout: 1000 })).getAccountInfo();
        });
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }
}
