import type {
  AppListSchema,
  CoverageSchema,
  FrontierSchema,
  GraphSchema,
  GraphSummarySchema,
  IdentifyBodySchema,
  PathSchema,
  ProjectionSchema,
  RebuildResultSchema,
  ScreenDetailSchema,
  ScreenIdentitySchema,
  ScreenPageSchema,
  ScreenSchema,
  SubgraphSchema,
} from '@screengraph/shared/api/graph';
import type { Static } from 'typebox';
import { ready } from './runs-client.js';
import { ApiError, type ServiceOptions, Transport } from './transport.js';

export type AppSummary = Static<typeof AppListSchema>['apps'][number];
export type Screen = Static<typeof ScreenSchema>;
export type ScreenPage = Static<typeof ScreenPageSchema>;
export type ScreenDetail = Static<typeof ScreenDetailSchema>;
export type Path = Static<typeof PathSchema>;
export type Frontier = Static<typeof FrontierSchema>;
export type Coverage = Static<typeof CoverageSchema>;
export type Graph = Static<typeof GraphSchema>;
export type GraphSummary = Static<typeof GraphSummarySchema>;
export type Subgraph = Static<typeof SubgraphSchema>;
export type SubgraphScreen = Subgraph['screens'][number];
export type SubgraphEdge = Subgraph['edges'][number];
/** Which part of the graph: an activity's screens (null: those with none), a neighbourhood, or given screens. */
export type SubgraphSelection = { activity: string | null } | { around: string; hops?: number } | { screens: string[] };
export type IdentifyRequest = Static<typeof IdentifyBodySchema>;
export type ScreenIdentity = Static<typeof ScreenIdentitySchema>;
export type PathStep = Path['steps'][number];
export type FrontierEntry = Frontier['actions'][number];
export type Projection = Static<typeof ProjectionSchema>;
export type RebuildResult = Static<typeof RebuildResultSchema>;
export type ExportFormat = 'json' | 'cytoscape' | 'dot' | 'graphml';

const app = (appPackage: string, rest: string) => `/apps/${encodeURIComponent(appPackage)}${rest}`;

/** The graph service: each app's screen graph and the queries an agent asks of it. */
export class GraphClient {
  readonly transport: Transport;

  constructor(options: ServiceOptions) {
    this.transport = new Transport(options);
  }

  async apps(): Promise<AppSummary[]> {
    const { apps } = await this.transport.json<{ apps: AppSummary[] }>({
      method: 'GET',
      path: '/apps',
      idempotent: true,
    });
    return apps;
  }

  screens(appPackage: string, options: { limit?: number; after?: string } = {}): Promise<ScreenPage> {
    return this.transport.json({ method: 'GET', path: app(appPackage, '/screens'), query: options, idempotent: true });
  }

  screen(appPackage: string, screenId: string): Promise<ScreenDetail> {
    return this.transport.json({
      method: 'GET',
      path: app(appPackage, `/screens/${encodeURIComponent(screenId)}`),
      idempotent: true,
    });
  }

  /** "Where am I": the screen with this layout hash (its detail), or null when the graph has none. */
  lookup(appPackage: string, layoutHash: string): Promise<ScreenDetail | null> {
    return nullOn(
      'SG_SCREEN_NOT_FOUND',
      this.transport.json({
        method: 'GET',
        path: app(appPackage, '/screens/lookup'),
        query: { layoutHash },
        idempotent: true,
      }),
    );
  }

  /**
   * "Where am I", for a hierarchy the agent holds, without a run: the screen it is, whether the
   * graph knows it, and its actions as this hierarchy shows them (labels, pixel bounds, centres)
   * with what the graph knows of each.
   */
  identify(appPackage: string, request: IdentifyRequest): Promise<ScreenIdentity> {
    return this.transport.json({
      method: 'POST',
      path: app(appPackage, '/screens/identify'),
      body: { json: request },
      idempotent: true,
    });
  }

  /** The app's graph by activity, the transitions between activities, and its least explored screens. */
  summary(appPackage: string, options: { leastExplored?: number } = {}): Promise<GraphSummary> {
    return this.transport.json({ method: 'GET', path: app(appPackage, '/summary'), query: options, idempotent: true });
  }

  /** The fewest actions from one screen to another; null when no known action leads there. */
  path(appPackage: string, from: string, to: string): Promise<Path | null> {
    return nullOn(
      'SG_NO_PATH',
      this.transport.json({ method: 'GET', path: app(appPackage, '/path'), query: { from, to }, idempotent: true }),
    );
  }

  /** Unexplored actions, nearest first when `from` is given. */
  /** Part of the graph with every transition from or to it (GET /apps/:app/subgraph). */
  subgraph(appPackage: string, selection: SubgraphSelection): Promise<Subgraph> {
    const query =
      'activity' in selection
        ? { activity: selection.activity ?? '' }
        : 'around' in selection
          ? { around: selection.around, hops: selection.hops }
          : { screens: selection.screens.join(',') };
    return this.transport.json({ method: 'GET', path: app(appPackage, '/subgraph'), query, idempotent: true });
  }

  frontier(appPackage: string, options: { from?: string; limit?: number } = {}): Promise<Frontier> {
    return this.transport.json({ method: 'GET', path: app(appPackage, '/frontier'), query: options, idempotent: true });
  }

  coverage(appPackage: string): Promise<Coverage> {
    return this.transport.json({ method: 'GET', path: app(appPackage, '/coverage'), idempotent: true });
  }

  graph(appPackage: string): Promise<Graph> {
    return this.transport.json({
      method: 'GET',
      path: app(appPackage, '/graph'),
      query: { format: 'json' },
      idempotent: true,
    });
  }

  /** The whole graph in a format for other tools, streamed as the service writes it. */
  async export(appPackage: string, format: ExportFormat, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const response = await this.transport.send({
      method: 'GET',
      path: app(appPackage, '/graph'),
      query: { format },
      headers: { accept: '*/*' },
      idempotent: true,
      streaming: true,
      signal,
    });
    if (!response.body) throw new Error('the export has no body');
    return response.body;
  }

  projection(runId: string): Promise<Projection> {
    return this.transport.json({
      method: 'GET',
      path: `/runs/${encodeURIComponent(runId)}/projection`,
      idempotent: true,
    });
  }

  /**
   * Waits until every event of the run (at least up to `seq`, when given) is projected; the
   * projection then. Throws when it does not get there within `timeoutMs`.
   */
  async waitForProjection(
    runId: string,
    options: { seq?: number; timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<Projection> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      const projection = await this.projection(runId);
      const head = options.seq ?? projection.headSeq;
      if (head !== null && projection.projectedSeq >= head) return projection;
      if (Date.now() > deadline) {
        throw new ProjectionTimeout(runId, projection.projectedSeq, head);
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
    }
  }

  /** Rebuilds one app's graph (or every app's) from the runs' event logs. */
  rebuild(appPackage?: string): Promise<RebuildResult> {
    return this.transport.json({
      method: 'POST',
      path: '/admin/rebuild',
      body: { json: appPackage === undefined ? {} : { appPackage } },
      idempotent: true,
      retries: 0,
    });
  }

  async ready(): Promise<boolean> {
    return ready(this.transport);
  }
}

/** A run's projection did not reach the awaited seq in time. */
export class ProjectionTimeout extends Error {
  constructor(
    readonly runId: string,
    readonly projectedSeq: number,
    readonly awaitedSeq: number | null,
  ) {
    super(`run ${runId}: not projected in time (seq ${projectedSeq} of ${awaitedSeq ?? 'an unknown head'})`);
    this.name = 'ProjectionTimeout';
  }
}

async function nullOn<T>(code: string, request: Promise<T>): Promise<T | null> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof ApiError && error.code === code) return null;
    throw error;
  }
}
