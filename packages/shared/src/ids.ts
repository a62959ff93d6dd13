import { Type } from 'typebox';
import { monotonicFactory } from 'ulid';

/** Crockford base32, 26 characters, first character at most 7 (48-bit time). */
export const ULID_PATTERN = '^[0-7][0-9A-HJKMNP-TV-Z]{25}$';

const ULID_REGEX = new RegExp(ULID_PATTERN);

/** Whether a value is a ULID (a run or event id): what `UlidSchema` accepts. */
export function isUlid(value: unknown): value is string {
  return typeof value === 'string' && ULID_REGEX.test(value);
}

export const UlidSchema = Type.String({
  pattern: ULID_PATTERN,
  description: 'A ULID: 26 characters of Crockford base32',
  examples: ['01JDQ8Z4V4R3W5X6Y7Z8A9B0CD'],
});

/**
 * ulid's default PRNG asks the system for one random byte per character, 16 calls an id; this
 * one draws them from a pool refilled 4 KB at a time (each byte in [0, 1) as ulid expects).
 */
const pool = new Uint8Array(4096);
let next = pool.length;
function pooledRandom(): number {
  if (next === pool.length) {
    // Web Crypto: in Node and in the browser (the console uses the client, which makes event ids).
    globalThis.crypto.getRandomValues(pool);
    next = 0;
  }
  return (pool[next++] as number) / 256;
}

const monotonic = monotonicFactory(pooledRandom);

/** A new ULID; ids made by one process sort in creation order even within a millisecond. */
export function newUlid(now: number = Date.now()): string {
  return monotonic(now);
}
