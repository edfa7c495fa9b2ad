// Numbers, money, durations and times as the dashboard shows them.

const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat();

export function num(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return Math.abs(n) >= 10_000 ? compact.format(n) : whole.format(Math.round(n * 100) / 100);
}

export function cost(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (n === 0) return '$0';
  if (Math.abs(n) < 0.01) return `$${n.toPrecision(2)}`;
  return `$${n.toFixed(2)}`;
}

export function ms(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (n === 0) return '0 ms';
  if (n < 1) return `${n.toFixed(2)} ms`;
  if (n < 1000) return `${Math.round(n)} ms`;
  return `${(n / 1000).toFixed(n < 10_000 ? 2 : 1)} s`;
}

export function pct(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return `${n < 10 && n > 0 ? n.toFixed(1) : Math.round(n)}%`;
}

/** A rate (per second): small values with two significant digits, never in e-notation. */
export function rate(n: number): string {
  if (!Number.isFinite(n) || n === 0) return '0';
  if (n >= 100) return num(n);
  if (n >= 1) return n.toFixed(1);
  if (n < 0.000001) return '< 0.000001';
  return String(Number(n.toPrecision(2)));
}

export function time(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? d.toLocaleTimeString(undefined, { hour12: false })
    : d.toLocaleString(undefined, { hour12: false, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function unixSeconds(s: number | null | undefined): string {
  return s ? time(s * 1000) : '–';
}

/** An RFC 3339 time without milliseconds, as the logs API takes it. */
export function iso(msSinceEpoch: number): string {
  return new Date(msSinceEpoch).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function list(s: string): string[] {
  return s.split(/[,\n]/).map((x) => x.trim()).filter(Boolean);
}
