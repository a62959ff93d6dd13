import { GraphClient } from './graph-client.js';
import { RunsClient } from './runs-client.js';
import type { RetryPolicy } from './transport.js';

export * from './graph-client.js';
export * from './guided-explorer.js';
export * from './runs-client.js';
export { readSse, type SseMessage } from './sse.js';
export {
  ApiError,
  type ErrorBody,
  type RetryPolicy,
  type ServiceOptions,
  ServiceUnreachable,
  Transport,
} from './transport.js';

export interface ScreenGraphClientOptions {
  /** The runs service, e.g. `http://127.0.0.1:3000`. */
  runsUrl: string;
  /** The graph service, e.g. `http://127.0.0.1:3001`. */
  graphUrl: string;
  token?: string;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
}

/** Both services of a ScreenGraph deployment. */
export class ScreenGraphClient {
  readonly runs: RunsClient;
  readonly graph: GraphClient;

  constructor(options: ScreenGraphClientOptions) {
    const common = { token: options.token, retry: options.retry, timeoutMs: options.timeoutMs };
    this.runs = new RunsClient({ url: options.runsUrl, ...common });
    this.graph = new GraphClient({ url: options.graphUrl, ...common });
  }
}
