import { backoffDelay } from '@screengraph/shared';

/** Connection settings of one service. */
export interface ServiceOptions {
  /** Base URL of the service, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** Sent as `Authorization: Bearer <token>` when set (SCREENGRAPH_API_TOKEN of the services). */
  token?: string;
  retry?: Partial<RetryPolicy>;
  /** Longest wait for a response's headers, per attempt. Default 30 s. */
  timeoutMs?: number;
}

/**
 * When a request is sent again. Network errors and 503 are retried with exponential backoff and
 * full jitter; a 4xx never is. A request that may have reached the service (the connection broke
 * after it was sent) is retried only when sending it twice is safe.
 */
export interface RetryPolicy {
  /** Attempts after the first. Default 6. */
  retries: number;
  /** Cap of the first pause. Default 100 ms. */
  initialDelayMs: number;
  /** Cap of every pause. Default 5 s. */
  maxDelayMs: number;
}

const DEFAULT_RETRY: RetryPolicy = { retries: 6, initialDelayMs: 100, maxDelayMs: 5000 };

/** The error body every ScreenGraph service answers with. */
export interface ErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
  currentSeq?: number;
}

/** A response that is not a success: the service's stable `SG_*` code and message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly body: ErrorBody | undefined;

  constructor(status: number, body: ErrorBody | undefined, method: string, path: string) {
    super(`${method} ${path}: ${status} ${body?.code ?? ''} ${body?.message ?? ''}`.trim());
    this.name = 'ApiError';
    this.status = status;
    this.code = body?.code ?? `HTTP_${status}`;
    this.body = body;
  }
}

/** Gave up on a request after the network failed every attempt. */
export class ServiceUnreachable extends Error {
  constructor(
    readonly url: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(`${url} unreachable after ${attempts} attempt(s): ${describe(cause)}`, { cause });
    this.name = 'ServiceUnreachable';
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface Call {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Query;
  /** A JSON body, or raw bytes with their media type. */
  body?: { json: unknown } | { bytes: Uint8Array; contentType: string };
  headers?: Record<string, string>;
  /** Sending it twice does no harm: retried even when the connection broke after it was sent. */
  idempotent: boolean;
  /** Statuses that are not errors. Default: 2xx. */
  ok?: (status: number) => boolean;
  /** The body is read as a stream: the timeout covers the headers only. */
  streaming?: boolean;
  /** Attempts after the first, instead of the policy's. */
  retries?: number;
  signal?: AbortSignal;
}

/** Errors of a connection that never got a request to the service: always safe to retry. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** HTTP to one service: auth, timeouts, retries. */
export class Transport {
  readonly url: string;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly authorization: string | undefined;

  constructor(options: ServiceOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.authorization = options.token === undefined ? undefined : `Bearer ${options.token}`;
  }

  /** The response of a call, after retries; an `ApiError` when its status is not ok. */
  async send(call: Call): Promise<Response> {
    const target = this.target(call.path, call.query);
    const retries = call.retries ?? this.retry.retries;
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.attempt(target, call);
      } catch (error) {
        if (call.signal?.aborted) throw error;
        const retryable = call.idempotent || notSent(error);
        if (!retryable) throw error;
        if (attempt >= retries) throw new ServiceUnreachable(target, attempt + 1, error);
        await this.pause(attempt, undefined, call.signal);
        continue;
      }
      const ok = call.ok ?? ((status) => status >= 200 && status < 300);
      if (ok(response.status)) return response;
      if (response.status === 503 && attempt < retries) {
        await response.body?.cancel();
        await this.pause(attempt, response.headers.get('retry-after'), call.signal);
        continue;
      }
      throw new ApiError(response.status, await errorBody(response), call.method, call.path);
    }
  }

  /** The JSON body of a call's response. */
  async json<T>(call: Call): Promise<T> {
    const response = await this.send(call);
    return (await response.json()) as T;
  }

  private async attempt(target: string, call: Call): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
    if (this.authorization) headers.authorization = this.authorization;
    let body: RequestInit['body'];
    if (call.body && 'json' in call.body) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(call.body.json);
    } else if (call.body) {
      headers['content-type'] = call.body.contentType;
      body = call.body.bytes as Uint8Array<ArrayBuffer>;
    }
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error(`no response within ${this.timeoutMs} ms`)), this.timeoutMs);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout.signal]) : timeout.signal;
    try {
      const response = await fetch(target, { method: call.method, headers, body, signal });
      // A streamed body may take as long as it takes; anything else is read now, within the timeout.
      if (call.streaming) return response;
      const bytes = new Uint8Array(await response.arrayBuffer());
      return new Response(bytes.byteLength === 0 && nullBody(response.status) ? null : bytes, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  private target(path: string, query: Query | undefined): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) params.set(key, String(value));
    }
    const search = params.toString();
    return `${this.url}${path}${search ? `?${search}` : ''}`;
  }

  private async pause(attempt: number, retryAfter: string | null | undefined, signal?: AbortSignal): Promise<void> {
    const asked = retryAfter ? Number(retryAfter) * 1000 : Number.NaN;
    const delay = Number.isFinite(asked)
      ? Math.min(asked, this.retry.maxDelayMs)
      : backoffDelay(attempt, { initialMs: this.retry.initialDelayMs, maxMs: this.retry.maxDelayMs, jitter: 'full' });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, delay);
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }
}

function nullBody(status: number): boolean {
  return status === 204 || status === 304;
}

function notSent(error: unknown): boolean {
  const code = (error as { cause?: { code?: string } }).cause?.code;
  return code !== undefined && NOT_SENT.has(code);
}

async function errorBody(response: Response): Promise<ErrorBody | undefined> {
  try {
    const body = (await response.json()) as Partial<ErrorBody>;
    return typeof body.code === 'string' ? (body as ErrorBody) : undefined;
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const message = error instanceof Error ? error.message : String(error);
  return cause?.code ? `${message} (${cause.code})` : message;
}
