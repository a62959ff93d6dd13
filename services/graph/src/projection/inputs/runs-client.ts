/** The runs service did not answer, or answered with a server error: worth retrying later. */
export class RunsServiceUnavailable extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RunsServiceUnavailable';
  }
}

/**
 * The runs service answered, and its event log has no such run or seq: a message naming it is not
 * an event of the log (forged, corrupted, or of a deleted run), and nothing can be projected for it.
 */
export class NotInEventLog extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotInEventLog';
  }
}

/** What the graph service needs to know of a run. */
export interface RunSummary {
  runId: string;
  appPackage: string;
  lastSeq: number;
  status: string;
}

export interface EventPage {
  /** Envelopes as the runs service sent them: validated by the projection, like NATS messages. */
  events: unknown[];
  nextAfterSeq: number | null;
}

export interface RunsClientOptions {
  baseUrl: string;
  /** Sent as a bearer token when the runs service requires one. */
  token?: string;
  timeoutMs?: number;
}

/**
 * The runs service's HTTP API, as far as the graph service uses it: to fill gaps in the stream and
 * to rebuild from the event log: a service never reads another's tables.
 */
export class RunsClient {
  private readonly baseUrl: string;

  constructor(private readonly options: RunsClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  /** Events of a run after `afterSeq`, in seq order, one page. */
  async events(runId: string, afterSeq: number, limit = 1000): Promise<EventPage> {
    const page = await this.get(`/runs/${encodeURIComponent(runId)}/events?afterSeq=${afterSeq}&limit=${limit}`);
    if (page === null) throw new NotInEventLog(`run ${runId} is not in the runs service's event log`);
    return page as EventPage;
  }

  /** The run, or null when the runs service does not know it. */
  async run(runId: string): Promise<RunSummary | null> {
    return (await this.get(`/runs/${encodeURIComponent(runId)}`)) as RunSummary | null;
  }

  /** Every run, or every run of one app, oldest first. */
  async allRuns(appPackage?: string): Promise<RunSummary[]> {
    const runs: RunSummary[] = [];
    let after: string | null = null;
    do {
      const query = new URLSearchParams({ limit: '500' });
      if (appPackage) query.set('appPackage', appPackage);
      if (after) query.set('after', after);
      const page = (await this.get(`/runs?${query}`)) as { runs: RunSummary[]; nextAfter: string | null };
      runs.push(...page.runs);
      after = page.nextAfter;
    } while (after);
    return runs.sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
  }

  private async get(path: string): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        headers: {
          accept: 'application/json',
          ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
        },
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new RunsServiceUnavailable(`runs service at ${this.baseUrl} is unreachable`, { cause: error });
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) {
      const body = await response.text().catch(() => '');
      throw new RunsServiceUnavailable(
        `runs service answered GET ${path} with ${response.status}: ${body.slice(0, 200)}`,
      );
    }
    return response.json();
  }
}
