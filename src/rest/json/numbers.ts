// Integers and floats in proto3 JSON: decimal strings or numbers, in range.

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;
export const UINT32_MAX = 4294967295;

/** A decimal integer string: optional '-', then digits. */
export function isDecimal(s: string, allowMinus: boolean): boolean {
  let i = 0;
  if (allowMinus && s.charCodeAt(0) === 45) i = 1;
  if (i >= s.length) return false;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

export function parseInt32(v: unknown, unsigned: boolean): number | undefined {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && isDecimal(v, !unsigned)) n = Number(v);
  else return undefined;
  if (!Number.isInteger(n) || n > (unsigned ? UINT32_MAX : INT32_MAX) || n < (unsigned ? 0 : INT32_MIN)) return undefined;
  return n === 0 ? 0 : n; // no -0
}

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const UINT64_MAX = 2n ** 64n - 1n;

/** An int64/uint64 JSON value as a normalised decimal string, or undefined. */
export function parseInt64(v: unknown, unsigned: boolean): string | undefined {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || (unsigned && v < 0)) return undefined;
    return String(v);
  }
  if (typeof v !== 'string' || !isDecimal(v, !unsigned)) return undefined;
  const negative = v.charCodeAt(0) === 45;
  if (v.length <= (negative ? 16 : 15)) {
    // Up to 15 digits: exact as a double.
    const n = Number(v);
    return String(n === 0 ? 0 : n);
  }
  const b = BigInt(v);
  if (unsigned ? b > UINT64_MAX : b < INT64_MIN || b > INT64_MAX) return undefined;
  return b.toString();
}

export const FLOAT_MAX = 3.4028234663852886e38;
export const NUMERIC = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export function parseFloating(v: unknown, float: boolean): number | undefined {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    if (v === 'NaN') n = NaN;
    else if (v === 'Infinity') n = Infinity;
    else if (v === '-Infinity') n = -Infinity;
    else if (NUMERIC.test(v)) {
      n = Number(v);
      if (!Number.isFinite(n)) return undefined; // "1e999": out of range
    } else return undefined;
  } else return undefined;
  if (!float || !Number.isFinite(n)) return n;
  if (Math.abs(n) > FLOAT_MAX) return undefined;
  return Math.fround(n);
}
