import { round } from '../../local/support/stats.js';

/** A figure for the README: rounded to `digits`, with thousands separators; "—" when it is not a number. */
export function fmt(value: number, digits: number): string {
  if (!Number.isFinite(value)) return '—';
  return round(value, digits).toLocaleString('en-US', { maximumFractionDigits: digits });
}

export function fmtInt(value: number): string {
  return fmt(value, 0);
}

/** A figure that may not have been measured (null), shown as "—". */
export function dash(value: number | null, digits: number): string {
  return value === null ? '—' : fmt(value, digits);
}
