// Budget and rate-limit editors and their read-outs, shared by virtual keys, teams and
// customers (Bifrost's shapes: max_limit in USD with a reset_duration like 1h, 1d, 1M).
import { useState } from 'preact/hooks';
import * as f from '../format';
import type { Budget, RateLimit } from '../types';
import { Field, Toggle, UsageBar } from './ui';

export const DURATIONS = ['1m', '1h', '1d', '1w', '1M', '1Y'];
const DURATION_NAMES: Record<string, string> = { '1m': 'minute', '1h': 'hour', '1d': 'day', '1w': 'week', '1M': 'month', '1Y': 'year' };

function DurationSelect(props: { label: string; value: string; onChange: (v: string) => void }) {
  const opts = DURATIONS.includes(props.value) ? DURATIONS : [props.value, ...DURATIONS];
  return (
    <Field label={props.label}>
      <select value={props.value} onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}>
        {opts.map((d) => (
          <option key={d} value={d}>
            per {DURATION_NAMES[d] ?? d}
          </option>
        ))}
      </select>
    </Field>
  );
}

/** Edits an optional budget; `null` means none. */
export function useBudget(cur?: Budget) {
  const [on, setOn] = useState(!!cur);
  const [max, setMax] = useState(cur ? String(cur.max_limit) : '10');
  const [reset, setReset] = useState(cur?.reset_duration ?? '1M');
  const value = (): Budget | null => (on ? { ...(cur?.id ? { id: cur.id } : {}), max_limit: Number(max) || 0, reset_duration: reset, calendar_aligned: cur?.calendar_aligned ?? false } : null);
  const view = (
    <fieldset>
      <legend>Budget</legend>
      <Toggle label="Limit spend" checked={on} onChange={setOn} />
      {on && (
        <div class="form-grid">
          <Field label="Max spend (USD)">
            <input type="number" min="0" step="any" required value={max} onInput={(e) => setMax((e.target as HTMLInputElement).value)} />
          </Field>
          <DurationSelect label="Resets" value={reset} onChange={setReset} />
        </div>
      )}
    </fieldset>
  );
  return { value, view };
}

/** Edits an optional rate limit (requests and/or tokens per window). */
export function useRateLimit(cur?: RateLimit) {
  const [on, setOn] = useState(!!cur);
  const [req, setReq] = useState(cur?.request_max_limit != null ? String(cur.request_max_limit) : '');
  const [reqWin, setReqWin] = useState(cur?.request_reset_duration ?? '1m');
  const [tok, setTok] = useState(cur?.token_max_limit != null ? String(cur.token_max_limit) : '');
  const [tokWin, setTokWin] = useState(cur?.token_reset_duration ?? '1h');
  const value = (): RateLimit | null => {
    if (!on || (req.trim() === '' && tok.trim() === '')) return null;
    const r: RateLimit = cur?.id ? { id: cur.id } : {};
    if (req.trim() !== '') Object.assign(r, { request_max_limit: Math.round(Number(req)), request_reset_duration: reqWin });
    if (tok.trim() !== '') Object.assign(r, { token_max_limit: Math.round(Number(tok)), token_reset_duration: tokWin });
    return r;
  };
  const view = (
    <fieldset>
      <legend>Rate limit</legend>
      <Toggle label="Limit requests or tokens" checked={on} onChange={setOn} />
      {on && (
        <div class="form-grid">
          <Field label="Requests" hint="Empty for no request limit">
            <input type="number" min="1" value={req} onInput={(e) => setReq((e.target as HTMLInputElement).value)} />
          </Field>
          <DurationSelect label="Request window" value={reqWin} onChange={setReqWin} />
          <Field label="Tokens" hint="Empty for no token limit">
            <input type="number" min="1" value={tok} onInput={(e) => setTok((e.target as HTMLInputElement).value)} />
          </Field>
          <DurationSelect label="Token window" value={tokWin} onChange={setTokWin} />
        </div>
      )}
    </fieldset>
  );
  return { value, view };
}

export function BudgetCell({ b, label }: { b?: Budget; label: string }) {
  if (!b) return <span class="muted">none</span>;
  return (
    <div>
      <UsageBar used={b.current_usage ?? 0} max={b.max_limit} label={`${label} budget used`} format={f.cost} />
      <span class="muted small">per {DURATION_NAMES[b.reset_duration] ?? b.reset_duration}</span>
    </div>
  );
}

export function RateCell({ r }: { r?: RateLimit }) {
  if (!r || (r.request_max_limit == null && r.token_max_limit == null)) return <span class="muted">none</span>;
  return (
    <div class="rate">
      {r.request_max_limit != null && (
        <div>
          <UsageBar used={r.request_current_usage ?? 0} max={r.request_max_limit} label="Requests used" format={f.num} />
          <span class="muted small">requests per {DURATION_NAMES[r.request_reset_duration ?? ''] ?? r.request_reset_duration}</span>
        </div>
      )}
      {r.token_max_limit != null && (
        <div>
          <UsageBar used={r.token_current_usage ?? 0} max={r.token_max_limit} label="Tokens used" format={f.num} />
          <span class="muted small">tokens per {DURATION_NAMES[r.token_reset_duration ?? ''] ?? r.token_reset_duration}</span>
        </div>
      )}
    </div>
  );
}
