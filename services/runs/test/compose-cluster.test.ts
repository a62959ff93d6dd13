import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { freePort, NATS_SERVER_BIN, ServiceStack, TestNatsCluster, withNats } from '@screengraph/testing';
import t from 'tap';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const compose = await readFile(new URL('../../../docker-compose.yml', import.meta.url), 'utf8');

/** The lines of one compose service: from `  <name>:` to the next service or top-level key. */
function section(name: string): string {
  const lines = compose.split('\n');
  const start = lines.indexOf(`  ${name}:`);
  if (start === -1) throw new Error(`no service ${name} in docker-compose.yml`);
  const end = lines.findIndex((line, i) => i > start && /^ {0,2}[a-z0-9-]+:/.test(line));
  return lines.slice(start, end === -1 ? undefined : end).join('\n');
}

/** A value of a service's environment, as the compose file sets it. */
function envOf(service: string, name: string): string {
  const value = new RegExp(`^ {6}${name}: "?([^"\\n]+)"?$`, 'm').exec(section(service))?.[1];
  if (value === undefined) throw new Error(`${service} sets no ${name}`);
  return value;
}

const NODES = ['nats-1', 'nats-2', 'nats-3'];

t.test(
  '`docker compose --profile cluster up`: its three nats-server commands form a JetStream cluster, and both services on it keep the stream at three replicas',
  { skip: !TestNatsCluster.available() && 'no nats-server binary (NATS_SERVER_BIN)', timeout: 120_000 },
  async (t) => {
    for (const node of NODES)
      t.match(section(node), /profiles: \["cluster"\]/, `${node} only with the cluster profile`);
    for (const service of ['runs-cluster', 'graph-cluster'])
      t.match(section(service), /profiles: \["cluster"\]/, `${service} only with the cluster profile`);

    // Each node's command as the compose file gives it, its hosts mapped to loopback ports.
    const dir = await mkdtemp(join(tmpdir(), 'sg-compose-cluster-'));
    const ports = new Map<string, { client: number; cluster: number; monitor: number }>();
    for (const node of NODES)
      ports.set(node, { client: await freePort(), cluster: await freePort(), monitor: await freePort() });
    const mapHosts = (text: string, kind: 'client' | 'cluster') =>
      text.replace(/nats:\/\/(nats-\d):(\d+)/g, (_, host: string) => `nats://127.0.0.1:${ports.get(host)?.[kind]}`);
    const children: ChildProcess[] = [];
    t.teardown(async () => {
      await Promise.all(
        children.map(
          (child) =>
            new Promise((resolve) => {
              if (child.exitCode !== null) return resolve(undefined);
              child.once('exit', resolve);
              child.kill('SIGKILL');
            }),
        ),
      );
      await rm(dir, { recursive: true, force: true });
    });
    for (const node of NODES) {
      const line = /command:\s*(\[[\s\S]*?\])/.exec(section(node))?.[1];
      // A YAML flow sequence of strings: JSON once its trailing comma goes.
      const args = JSON.parse((line ?? '[]').replace(/,\s*\]$/, ']')) as string[];
      const own = ports.get(node) as { client: number; cluster: number; monitor: number };
      const mapped = args.map((arg, i) => {
        const flag = args[i - 1];
        if (flag === '-sd') return join(dir, node);
        if (flag === '-m') return String(own.monitor);
        if (flag === '--cluster') return arg.replace('0.0.0.0:6222', `127.0.0.1:${own.cluster}`);
        if (flag === '--routes') return mapHosts(arg, 'cluster');
        return arg;
      });
      t.same(
        mapped.filter((arg, i) => args[i] === arg && arg.startsWith('-')),
        args.filter((arg) => arg.startsWith('-')),
      );
      children.push(
        spawn(NATS_SERVER_BIN, [...mapped, '-a', '127.0.0.1', '-p', String(own.client)], { stdio: 'ignore' }),
      );
    }

    // The compose healthcheck's URL answers on every node.
    const health = /"(http:\/\/127\.0\.0\.1:8222\/healthz[^"]*)"/.exec(section('nats-1'))?.[1] as string;
    for (const node of NODES) {
      const url = health.replace('8222', String(ports.get(node)?.monitor));
      let ok = false;
      for (let i = 0; i < 100 && !ok; i++) {
        ok = await fetch(url).then(
          (res) => res.ok,
          () => false,
        );
        if (!ok) await sleep(100);
      }
      t.ok(ok, `${node}: healthy (${health})`);
    }

    // Both services with the cluster profile's NATS_URL and replica counts.
    const natsUrl = mapHosts(envOf('runs-cluster', 'NATS_URL'), 'client');
    t.equal(envOf('graph-cluster', 'NATS_URL'), envOf('runs-cluster', 'NATS_URL'), 'both services on every node');
    t.equal(natsUrl.split(',').length, 3);
    t.equal(envOf('graph-cluster', 'RUNS_URL'), 'http://runs-cluster:3001');
    const stack = await ServiceStack.start(t, {
      natsUrl,
      env: {
        runs: {
          RUN_EVENTS_REPLICAS: envOf('runs-cluster', 'RUN_EVENTS_REPLICAS'),
          RUNS_ARTIFACTS_REPLICAS: envOf('runs-cluster', 'RUNS_ARTIFACTS_REPLICAS'),
        },
      },
    });
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${stack.runsUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      t.ok(res.ok, `${path}: ${res.status}`);
      return res.json() as Promise<{ runId: string }>;
    };
    const { runId } = await post('/runs', { appPackage: 'com.example.cluster' });
    await post(`/runs/${runId}/claim`, { workerId: 'agent' });
    await post(`/runs/${runId}/events`, {
      workerId: 'agent',
      events: [{ type: 'screen.observed', data: { activity: '.Main', layoutHash: 'home' } }],
    });
    let lag: number | null = null;
    for (let i = 0; i < 300 && lag !== 0; i++) {
      lag = ((await (await fetch(`${stack.graphUrl}/runs/${runId}/projection`)).json()) as { lag: number }).lag;
      if (lag !== 0) await sleep(100);
    }
    t.equal(lag, 0, 'the run projected through the cluster');
    const info = await withNats(natsUrl, async (nc) => (await jetstreamManager(nc)).streams.info(stack.eventsStream));
    t.equal(info.config.num_replicas, 3, 'the stream at three replicas');
    t.ok(info.cluster?.leader, `led by ${info.cluster?.leader}`);
    t.equal(info.cluster?.replicas?.length, 2);
  },
);
