/** A configuration value that cannot be used: the message names the variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** `value` of variable `name`, when it is a URL of one of `protocols`. */
function checkedUrl(name: string, value: string, protocols: readonly string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, `"${value}" is not a URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `protocol must be one of ${protocols.join(', ')}, got ${parsed.protocol}`);
  }
  return value;
}

/** Reads configuration from an environment, each getter naming its variable when a value is bad. */
export function envReader(env: Env) {
  const raw = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  return {
    string(name: string, fallback: string): string {
      return raw(name) ?? fallback;
    },
    /** A string that must match `pattern` (names that end up in subjects, stream names, ...). */
    matching(name: string, fallback: string, pattern: RegExp): string {
      const value = raw(name) ?? fallback;
      if (!pattern.test(value)) throw new ConfigError(name, `"${value}" does not match ${pattern}`);
      return value;
    },
    url(name: string, fallback: string, protocols: readonly string[]): string {
      return checkedUrl(name, raw(name) ?? fallback, protocols);
    },
    /** A URL as `url` checks it, or null when the variable is unset or empty. */
    optionalUrl(name: string, protocols: readonly string[]): string | null {
      const value = raw(name);
      return value === undefined ? null : checkedUrl(name, value, protocols);
    },
    /** Comma-separated URLs (servers of one cluster, say), each checked as `url` does; returned without spaces. */
    urls(name: string, fallback: string, protocols: readonly string[]): string {
      const urls = (raw(name) ?? fallback).split(',').map((url) => url.trim());
      return urls.map((url) => checkedUrl(name, url, protocols)).join(',');
    },
    integer(name: string, fallback: number, min: number, max: number): number {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (!/^\d+$/.test(value)) throw new ConfigError(name, `"${value}" is not a whole number`);
      const n = Number(value);
      if (n < min || n > max) throw new ConfigError(name, `${n} is outside ${min}..${max}`);
      return n;
    },
    /** A duration as `500ms`, `30s`, `10m`, `1h`, `7d`, or plain seconds; returned in milliseconds. */
    duration(name: string, fallbackMs: number, minMs = 1): number {
      const value = raw(name);
      if (value === undefined) return fallbackMs;
      const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value);
      if (!match) throw new ConfigError(name, `"${value}" is not a duration like 500ms, 30s, 10m, 1h or 7d`);
      const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
      const ms = Math.round(Number(match[1]) * units[(match[2] ?? 's') as keyof typeof units]);
      if (ms < minMs) throw new ConfigError(name, `must be at least ${minMs} ms`);
      return ms;
    },
    /** A secret, absent unless set; too short a secret is refused (it names only the variable, never the value). */
    secret(name: string, minLength: number): string | null {
      const value = raw(name);
      if (value === undefined) return null;
      if (value.length < minLength) throw new ConfigError(name, `must be at least ${minLength} characters`);
      return value;
    },
    oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
      const value = raw(name) ?? fallback;
      if (!allowed.includes(value as T)) throw new ConfigError(name, `"${value}" is not one of ${allowed.join(', ')}`);
      return value as T;
    },
  };
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Loads a service's configuration, or stops the process with one line naming the variable (no
 * stack trace: a bad value is the operator's to fix, not a bug).
 */
export function loadOrExit<T>(load: () => T, service: string): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${service}: bad configuration: ${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
}
