import { appendFile, mkdir } from 'node:fs/promises';
import { generateApp, SimulatedExplorer } from '@screengraph/cli/simulator';
import { type AgentEvent, ApiError, RunsClient } from '@screengraph/client';
import { newUlid } from '@screengraph/shared';
import { graphRows, type ServiceStack, streamMessages, withClient } from '@screengraph/testing';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The header that marks what a scenario itself put in the stream (copies, poison): not the relay's. */
export const INJECTED = 'Sg-Test-Injected';

/** The broker the stacks use unless a scenario starts its own. */
export const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** One simulated agent's run: what the service acknowledged, and nothing else. */
interface AgentRun {
  runId: string;
  appPackage: string;
  workerId: string;
  /** Event ids of every append that got a 2xx, in order. */
  acknowledged: string[];
  lastSeq: number;
}

export interface FleetOptions {
  agents: number;
  /** Apps the agents explore (agents share them). */
  apps: number;
  /** Steps per append (two events each). */
  stepsPerBatch: number;
  /** Upload a small log artifact every this many batches. */
  artifactEvery: number;
  prefix: string;
}

/**
 * Several simulated agents exploring generated apps against the runs service, each appending
 * batches with ids of its own and retrying a batch (same ids) until the service acknowledges it.
 * An agent whose runs service does not answer turns to the next URL (another instance).
 */
export class AgentFleet {
  readonly runs: AgentRun[] = [];
  private stopping = false;
  /** Set when the fleet made no progress: the agents give up, so the test fails at once instead of at its timeout. */
  private abandoned = false;
  private loops: Promise<void>[] = [];
  /** Appends and uploads that failed and were sent again. */
  retries = 0;
  /** Uploads given up on (the artifact store away): an agent explores on without them. */
  artifactsSkipped = 0;

  constructor(
    private readonly runsUrls: string[],
    private readonly options: FleetOptions,
  ) {}

  get acknowledgedEvents(): number {
    return this.runs.reduce((sum, run) => sum + run.acknowledged.length, 0);
  }

  /** Starts every agent; resolves once each has its run claimed. */
  async start(): Promise<void> {
    const started: Promise<void>[] = [];
    for (let i = 0; i < this.options.agents; i++) {
      let ready: () => void = () => undefined;
      started.push(new Promise<void>((resolve) => (ready = resolve)));
      this.loops.push(
        this.agent(i, ready).catch((error: unknown) => {
          if (!this.abandoned) throw error;
        }),
      );
    }
    await Promise.all(started);
  }

  /** Lets every agent finish its batch in hand, then completes the runs. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  /**
   * Waits until the agents have had this many more events acknowledged. When they have not, the
   * error says how many retries they made and what `explain` tells (the services' last output).
   */
  async progress(events: number, timeoutMs = 60_000, explain?: () => string): Promise<void> {
    const target = this.acknowledgedEvents + events;
    const deadline = Date.now() + timeoutMs;
    while (this.acknowledgedEvents < target) {
      if (Date.now() > deadline) {
        this.abandoned = true;
        throw new Error(
          `the fleet made no progress: ${this.acknowledgedEvents} < ${target} (${this.retries} retries)${
            explain ? `\n${explain()}` : ''
          }`,
        );
      }
      await sleep(50);
    }
  }

  private async agent(index: number, ready: () => void): Promise<void> {
    const appPackage = `com.example.${this.options.prefix}${index % this.options.apps}`;
    const workerId = `${this.options.prefix}-agent-${index}`;
    const explorer = SimulatedExplorer.of(generateApp(appPackage, index % this.options.apps), index);
    let url = index % this.runsUrls.length;
    const client = () => new RunsClient({ url: this.runsUrls[url] as string, retry: { retries: 3, maxDelayMs: 1000 } });
    /** Sends until acknowledged; an unreachable instance hands the agent to the next one. */
    const persist = async <T>(send: (runs: RunsClient) => Promise<T>): Promise<T> => {
      for (;;) {
        if (this.abandoned) throw new Error('the fleet was abandoned');
        try {
          return await send(client());
        } catch (error) {
          if (error instanceof ApiError && error.status !== 503) throw error;
          this.retries++;
          url = (url + 1) % this.runsUrls.length;
          await sleep(200);
        }
      }
    };
    // The run is created once: a retry after a lost answer would make a second one.
    const runId = newUlid();
    const run = await persist(async (runs) => {
      const mine = await runs.listRuns({ appPackage, limit: 500 });
      const existing = mine.runs.find((r) => (r.config as { agentRun?: string } | null)?.agentRun === runId);
      return existing ?? runs.createRun(appPackage, { agentRun: runId });
    });
    await persist((runs) => runs.claimRun(run.runId, workerId));
    const mine: AgentRun = { runId: run.runId, appPackage, workerId, acknowledged: [], lastSeq: 2 };
    this.runs.push(mine);
    ready();
    let pending: AgentEvent[] = explorer.start();
    let uploading: Promise<void> | undefined;
    const uploads: Promise<void>[] = [];
    for (let batch = 0; !this.stopping && !this.abandoned; batch++) {
      for (let step = 0; step < this.options.stepsPerBatch; step++) pending.push(...explorer.step());
      const events = pending.map((event) => ({ ...event, eventId: newUlid() })) as AgentEvent[];
      const result = await persist((runs) => runs.append(mine.runId, workerId, events));
      mine.acknowledged.push(...events.map((event) => event.eventId as string));
      mine.lastSeq = result.lastSeq;
      pending = [];
      if (batch % this.options.artifactEvery === 0) {
        // Best effort, as on a device: uploads go beside the exploration, one at a time (the
        // next is dropped while one is still on its way); with the artifact store away (503
        // after the client's own retries) the agent goes on exploring, and its events still count.
        if (uploading) {
          this.artifactsSkipped++;
        } else {
          const log = new TextEncoder().encode(`batch ${batch} of ${workerId}\n`);
          uploading = client()
            .uploadArtifact(mine.runId, 'log', log, 'text/plain')
            .then(
              () => undefined,
              (error: unknown) => {
                if (error instanceof ApiError && error.status !== 503) throw error;
                this.artifactsSkipped++;
              },
            )
            .finally(() => {
              uploading = undefined;
            });
          uploads.push(uploading);
        }
      }
    }
    await Promise.all(uploads);
    await persist((runs) => runs.complete(mine.runId, workerId));
    mine.lastSeq += 1;
  }
}

export interface Invariants {
  /** Acknowledged events not stored. */
  lost: number;
  /** Events stored more than once (by id), or seqs not gapless. */
  duplicates: number;
  /** Runs whose events the stream holds not exactly once each (missing or repeated). */
  streamProblems: number;
  /** Messages standing in the stream after a later event of their run. */
  outOfOrder: number;
  /** Messages published again after the relay withdrew a copy that stood out of order (msg id `<eventId>~<seq>`). */
  republished: number;
  /** Graph rows that differ from a rebuild from the event log. */
  graphDifferences: number;
  /** Runs still `running`. */
  stuck: number;
  /** From the end of the fault to everything published and projected. */
  convergeMs: number;
}

/**
 * Waits until every run is published and projected, then checks what must hold whatever the
 * fault: every acknowledged event stored once with gapless seqs, the stream holding each run's
 * events once and in order, the graph equal to a rebuild, no run left running.
 */
export async function checkInvariants(
  stack: ServiceStack,
  fleet: Pick<AgentFleet, 'runs'>,
  natsUrl: string,
  faultEndedAt: number,
  options: { graphUrl?: string } = {},
): Promise<Invariants> {
  const runIds = fleet.runs.map((run) => run.runId);
  const stored = await withClient(stack.runsDatabase.url, async (db) => {
    const { rows } = await db.query<{ run_id: string; seq: number; event_id: string }>(
      'SELECT run_id, seq, event_id FROM run_events WHERE run_id = ANY($1) ORDER BY run_id, seq',
      [runIds],
    );
    return rows;
  });
  const storedIds = new Map<string, number>();
  for (const row of stored) storedIds.set(row.event_id, (storedIds.get(row.event_id) ?? 0) + 1);
  const lost = fleet.runs.flatMap((run) => run.acknowledged).filter((id) => !storedIds.has(id)).length;
  let duplicates = [...storedIds.values()].filter((count) => count > 1).length;
  const seqsByRun = new Map<string, number[]>();
  for (const row of stored) seqsByRun.set(row.run_id, [...(seqsByRun.get(row.run_id) ?? []), Number(row.seq)]);
  for (const seqs of seqsByRun.values()) if (seqs.some((seq, i) => seq !== i + 1)) duplicates++;

  const graphUrl = options.graphUrl ?? stack.graphUrl;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const states = await Promise.all(
      runIds.map(async (runId) => {
        const [outbox, projection] = await Promise.all([
          fetch(`${stack.runsUrl}/runs/${runId}/outbox`).then((r) => r.json() as Promise<{ lag: number }>),
          fetch(`${graphUrl}/runs/${runId}/projection`).then((r) => r.json() as Promise<{ lag: number | null }>),
        ]);
        return outbox.lag === 0 && projection.lag === 0;
      }),
    );
    if (states.every(Boolean)) break;
    if (Date.now() > deadline) throw new Error('not published and projected within 120 s of the fault');
    await sleep(100);
  }
  const convergeMs = Date.now() - faultEndedAt;

  const messages = await streamMessages(natsUrl, stack.eventsStream);
  let streamProblems = 0;
  let outOfOrder = 0;
  const republished = messages.filter((m) => m.headers['Nats-Msg-Id']?.includes('~')).length;
  for (const runId of runIds) {
    const seqs = messages
      .filter((m) => m.headers['Sg-Run-Id'] === runId && m.headers[INJECTED] === undefined)
      .map((m) => Number(m.headers['Sg-Seq']));
    const expected = seqsByRun.get(runId) ?? [];
    const sorted = [...seqs].sort((a, b) => a - b);
    if (sorted.length !== expected.length || sorted.some((seq, i) => seq !== i + 1)) streamProblems++;
    let highest = 0;
    for (const seq of seqs) {
      if (seq < highest) outOfOrder++;
      highest = Math.max(highest, seq);
    }
  }

  const graphQuery = <T>(sql: string, values: unknown[] = []) =>
    withClient(stack.graphDatabase.url, async (db) => (await db.query(sql, values)).rows as T[]);
  const live = await graphRows(graphQuery);
  const rebuilt = await fetch(`${graphUrl}/admin/rebuild`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  if (!rebuilt.ok) throw new Error(`rebuild: ${rebuilt.status} ${await rebuilt.text()}`);
  const rebuild = await graphRows(graphQuery);
  let graphDifferences = 0;
  for (const table of Object.keys(live) as (keyof typeof live)[]) {
    const a = live[table].map((row) => JSON.stringify(row));
    const b = new Set(rebuild[table].map((row) => JSON.stringify(row)));
    graphDifferences += a.filter((row) => !b.has(row)).length + Math.abs(a.length - b.size);
  }

  const stuck = await withClient(stack.runsDatabase.url, async (db) => {
    const { rows } = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM runs WHERE run_id = ANY($1) AND status = 'running'",
      [runIds],
    );
    return rows[0]?.n ?? 0;
  });
  return { lost, duplicates, streamProblems, outOfOrder, republished, graphDifferences, stuck, convergeMs };
}

export interface ReliabilityRow {
  scenario: string;
  load: string;
  fault: string;
  acknowledged: number;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  convergeMs: number;
}

/** Appends a scenario's figures to `faults/results.ndjson` (the README's reliability table). */
export async function record(row: ReliabilityRow): Promise<void> {
  const directory = new URL('./results/', import.meta.url);
  await mkdir(directory, { recursive: true });
  await appendFile(
    new URL('reliability.ndjson', directory),
    `${JSON.stringify({ ...row, at: new Date().toISOString() })}\n`,
  );
}

/** What the tap test object offers that `expectNothingLost` needs. */
interface Assert {
  match(found: unknown, wanted: object, message: string, extra: object): boolean;
}

/**
 * The end of every scenario: checks the invariants, asserts that nothing was lost, duplicated,
 * out of order, off in the graph or stuck, and records the scenario's row.
 */
export async function expectNothingLost(
  t: Assert,
  stack: ServiceStack,
  fleet: Pick<AgentFleet, 'runs'> & { acknowledgedEvents: number },
  check: { natsUrl: string; faultEndedAt: number; graphUrl?: string },
  row: Pick<ReliabilityRow, 'scenario' | 'load' | 'fault'>,
): Promise<Invariants> {
  const result = await checkInvariants(stack, fleet, check.natsUrl, check.faultEndedAt, {
    ...(check.graphUrl ? { graphUrl: check.graphUrl } : {}),
  });
  const expected = { lost: 0, duplicates: 0, streamProblems: 0, outOfOrder: 0, graphDifferences: 0, stuck: 0 };
  t.match(result, expected, 'nothing lost', {
    result,
    output: stack.output,
  });
  await record({ ...row, acknowledged: fleet.acknowledgedEvents, ...result });
  return result;
}
