/** How long to wait before trying again: exponential from `initialMs`, at most `maxMs`. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
  /**
   * How the pause is spread, so many retrying at once do not come back together: `equal`, between
   * half the exponential step and all of it (a pause that must not shrink to nothing: a loop
   * waiting for a dependency); `full`, anywhere up to it (a client's retries).
   */
  jitter?: 'equal' | 'full';
}

/** The pause before retry number `attempt` (0 for the first), in milliseconds. */
export function backoffDelay(
  attempt: number,
  { initialMs, maxMs, jitter = 'equal' }: Backoff,
  random = Math.random,
): number {
  const step = Math.min(initialMs * 2 ** Math.min(attempt, 30), maxMs);
  return jitter === 'full' ? random() * step : step * (0.5 + random() / 2);
}
