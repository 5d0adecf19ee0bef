/**
 * Durations as scenario files and the command line write them: `500ms`, `10s`, `2m`, `1h`, or
 * a bare number of seconds (`10`, `0.5`, `"10"`).
 */
import { UsageError } from '../errors.js';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)?$/;

/** What a duration looks like, for messages. */
export const DURATION_EXPECTED = 'a duration like 500ms, 10s or 2m (a bare number is seconds)';

/**
 * Milliseconds (rounded to a whole number) of a duration. A number is seconds.
 * @throws UsageError naming the value and the accepted forms when it is not a duration.
 */
export function parseDuration(value: string | number): number {
  let ms: number | undefined;
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) ms = value * 1000;
  } else if (typeof value === 'string') {
    const m = DURATION.exec(value.trim());
    if (m) ms = Number(m[1]) * UNIT_MS[m[2] ?? 's'];
  }
  if (ms === undefined) {
    const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
    throw new UsageError(`${shown} is not a duration, expected ${DURATION_EXPECTED}`);
  }
  return Math.round(ms);
}
