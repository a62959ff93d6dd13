import { Type } from 'typebox';
import { monotonicFactory } from 'ulid';

/** Crockford base32, 26 characters, first character at most 7 (48-bit time). */
export const ULID_PATTERN = '^[0-7][0-9A-HJKMNP-TV-Z]{25}$';

export const UlidSchema = Type.String({
  pattern: ULID_PATTERN,
  description: 'A ULID: 26 characters of Crockford base32',
  examples: ['01JDQ8Z4V4R3W5X6Y7Z8A9B0CD'],
});

const monotonic = monotonicFactory();

/** A new ULID; ids made by one process sort in creation order even within a millisecond. */
export function newUlid(now: number = Date.now()): string {
  return monotonic(now);
}
