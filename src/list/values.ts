// Conversions of filter values (text) to the stored representation of each
// field type. Each returns undefined for a value it cannot read, so the caller
// can word the error with the field name and position it knows.

/**
 * A number of milliseconds as stored (timestamps and durations), read exactly
 * from text that may carry up to nanoseconds: `floor` is the largest whole
 * millisecond not above the value, `exact` says whether it is the value itself.
 * Comparing against floor/floor+1 instead of a fractional number keeps the
 * comparison exact and the bound parameter an integer an index can use.
 */
export interface Millis {
  floor: number;
  exact: boolean;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
const DURATION = /^(-)?(\d{1,12})(?:\.(\d{1,9}))?s$/;
const INTEGER = /^[+-]?\d{1,16}$/;
// google.protobuf.Duration allows at most 10,000 years.
const MAX_DURATION_SECONDS = 315_576_000_000;

/** RFC 3339 date-time (the form google.protobuf.Timestamp uses in JSON) to milliseconds since the epoch. */
export function parseTimestamp(text: string): Millis | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (!validDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  const offset = offsetMinutes(m[8], m[9], m[10]);
  if (offset === undefined || year < 1) return undefined;
  // setUTCFullYear, unlike Date.UTC, does not turn years 0-99 into 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const fraction = splitFraction(m[7]);
  return { floor: date.getTime() - offset * 60_000 + fraction.millis, exact: fraction.exact };
}

/** A duration in the JSON form of google.protobuf.Duration ("86400s", "1.5s", "-0.25s") to milliseconds. */
export function parseDuration(text: string): Millis | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  const seconds = Number(m[2]);
  if (seconds > MAX_DURATION_SECONDS) return undefined;
  const fraction = splitFraction(m[3]);
  const magnitude = seconds * 1000 + fraction.millis;
  if (m[1] !== '-') return { floor: magnitude, exact: fraction.exact };
  // -1.0005s is -1000.5 ms, whose floor is -1001.
  return { floor: fraction.exact ? -magnitude : -magnitude - 1, exact: fraction.exact };
}

/** A decimal integer that a JavaScript number holds exactly. */
export function parseInteger(text: string): number | undefined {
  if (!INTEGER.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** true/false in any letter case, stored as 1/0. */
export function parseBoolean(text: string): number | undefined {
  const lower = text.toLowerCase();
  if (lower === 'true') return 1;
  if (lower === 'false') return 0;
  return undefined;
}

/**
 * Lower-cases ASCII letters only. Cloud KMS documents ':' as a case-insensitive
 * match; SQLite's lower() folds only ASCII, so folding the same way here keeps
 * SQL and in-memory evaluation in agreement (resource names are ASCII anyway).
 */
export function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

/** Orders strings by code point, as SQLite's BINARY collation does on UTF-8 (JS '<' compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function validDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return day <= days;
}

function offsetMinutes(sign: string | undefined, hours: string | undefined, minutes: string | undefined): number | undefined {
  if (sign === undefined) return 0;
  const h = Number(hours);
  const m = Number(minutes);
  if (h > 23 || m > 59) return undefined;
  return (sign === '-' ? -1 : 1) * (h * 60 + m);
}

/** Splits ".123456789" into whole milliseconds and whether anything finer was left over. */
function splitFraction(digits: string | undefined): { millis: number; exact: boolean } {
  if (digits === undefined) return { millis: 0, exact: true };
  const padded = digits.padEnd(9, '0');
  return { millis: Number(padded.slice(0, 3)), exact: /^0*$/.test(padded.slice(3)) };
}
