// Logs: a filterable, paginated table from /api/logs that grows live from /ws, and a detail
// view (/logs/<id>) from /api/logs/<id>.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { get, isUnavailable, query } from '../api';
import { Snippets } from '../components/start';
import { Empty, Link, Loading, PageHeader, Problem, StatusBadge } from '../components/ui';
import * as f from '../format';
import { settle, useLoad } from '../hooks';
import { useLiveLogs, type LiveState } from '../live';
import { navigate, useLocation } from '../router';
import type { FilterData, LogEntry, LogsPage } from '../types';
import { LogDetail } from './LogDetail';

const LIMIT = 50;
const RANGE_MS: Record<string, number> = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };

interface Filters {
  q: string;
  provider: string;
  model: string;
  status: string;
  range: string;
  offset: number;
}

function readFilters(p: URLSearchParams): Filters {
  return {
    q: p.get('q') ?? '',
    provider: p.get('provider') ?? '',
    model: p.get('model') ?? '',
    status: p.get('status') ?? '',
    range: p.get('range') ?? '',
    offset: Math.max(0, Number(p.get('offset')) || 0),
  };
}

function toQuery(fl: Filters): string {
  return query({ q: fl.q, provider: fl.provider, model: fl.model, status: fl.status, range: fl.range, offset: fl.offset || undefined });
}

function apiQuery(fl: Filters): string {
  const range = RANGE_MS[fl.range];
  return query({
    limit: LIMIT,
    offset: fl.offset,
    providers: fl.provider,
    models: fl.model,
    status: fl.status,
    content_search: fl.q,
    start_time: range ? f.iso(Date.now() - range) : undefined,
  });
}

/** Whether a live log belongs on the first page of the current filters. */
function matches(fl: Filters, log: LogEntry): boolean {
  if (fl.provider && log.provider !== fl.provider) return false;
  if (fl.model && log.model !== fl.model) return false;
  if (fl.status && log.status !== fl.status) return false;
  const range = RANGE_MS[fl.range];
  if (range && Date.parse(log.timestamp) < Date.now() - range) return false;
  return true;
}

export function Logs() {
  const loc = useLocation();
  const detailId = loc.path.startsWith('/logs/') ? decodeURIComponent(loc.path.slice(6)) : null;
  const fl = readFilters(loc.params);
  // Keyed on the filters as the URL has them (the API query's start_time moves with the clock).
  const key = toQuery(fl);
  const page = useLoad(() => get<LogsPage>(`/api/logs${apiQuery(fl)}`), key);
  const filterData = useLoad(async () => {
    const r = await settle(get<FilterData>('/api/logs/filterdata'));
    return 'ok' in r ? r.ok : null;
  }, 'filterdata');
  const [rows, setRows] = useState<LogEntry[]>([]);
  const [total, setTotal] = useState(0);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const [waiting, setWaiting] = useState(0);
  const [paused, setPaused] = useState(false);

  useEffect(() => {
    if (page.data) {
      setRows(page.data.logs);
      setTotal(page.data.pagination.total_count);
      setWaiting(0);
    }
  }, [page.data]);

  const canInsert = fl.offset === 0 && !fl.q && !paused;
  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  const onLive = (op: 'create' | 'update', log: LogEntry) => {
    if (!matches(fl, log)) return;
    const known = rowsRef.current.some((r) => r.id === log.id);
    if (!canInsert) {
      if (op === 'create' && !known) setWaiting((n) => n + 1);
      return;
    }
    if (known) {
      setRows((prev) => prev.map((r) => (r.id === log.id ? { ...r, ...log } : r)));
    } else {
      setRows((prev) => [log, ...prev].slice(0, LIMIT));
      setTotal((t) => t + 1);
    }
    setFresh((s) => new Set(s).add(log.id));
  };
  const liveOk = !isUnavailable(page.error);
  const live = useLiveLogs(onLive, liveOk);

  const set = (patch: Partial<Filters>) => navigate(`/logs${toQuery({ ...fl, offset: 0, ...patch })}`, true);
  const fd = filterData.data;
  const filtered = !!(fl.q || fl.provider || fl.model || fl.status || fl.range);
  const detailRow = useMemo(() => rows.find((r) => r.id === detailId), [rows, detailId]);

  let body;
  if (page.error) body = <Problem error={page.error} what="Request logs" />;
  else if (!page.data) body = <Loading />;
  else if (!page.data.has_logs && rows.length === 0)
    body = (
      <Empty title="No requests yet">
        <p>Send a request through the gateway and it appears here live, with its conversation, tokens, cost and latency.</p>
        <Snippets />
      </Empty>
    );
  else
    body = (
      <>
        {waiting > 0 && (
          <button type="button" class="btn pill" onClick={() => (paused ? setPaused(false) : page.reload())}>
            {waiting} new {waiting === 1 ? 'request' : 'requests'} — show
          </button>
        )}
        <LogTable rows={rows} fresh={fresh} search={loc.params.toString()} />
        {rows.length === 0 && <p class="muted center">{filtered ? 'No logs match these filters.' : 'No logs on this page.'}</p>}
        <nav class="pager" aria-label="Pages">
          <span class="muted">
            {total === 0 ? '0' : `${fl.offset + 1}–${fl.offset + rows.length}`} of {f.num(total)}
          </span>
          <button type="button" class="btn" disabled={fl.offset === 0} onClick={() => set({ offset: Math.max(0, fl.offset - LIMIT) })}>
            Newer
          </button>
          <button type="button" class="btn" disabled={fl.offset + LIMIT >= total} onClick={() => set({ offset: fl.offset + LIMIT })}>
            Older
          </button>
        </nav>
      </>
    );

  return (
    <>
      <PageHeader
        title="Logs"
        subtitle="Every request through the gateway"
        actions={
          <>
            <LiveBadge state={paused ? 'paused' : live} />
            <button type="button" class="btn" onClick={() => setPaused(!paused)} aria-pressed={paused}>
              {paused ? 'Resume' : 'Pause'}
            </button>
          </>
        }
      />
      <form class="filters" role="search" onSubmit={(e) => { e.preventDefault(); set({ q: String(new FormData(e.currentTarget as HTMLFormElement).get('q') ?? '') }); }}>
        <label class="inline grow">
          <span class="sr-only">Search content</span>
          <input name="q" type="search" placeholder="Search messages…" defaultValue={fl.q} key={fl.q} />
        </label>
        <Select label="Provider" value={fl.provider} options={fd?.providers ?? []} onChange={(v) => set({ provider: v })} />
        <Select label="Model" value={fl.model} options={fd?.models ?? []} onChange={(v) => set({ model: v })} />
        <Select label="Status" value={fl.status} options={['success', 'error', 'cancelled']} onChange={(v) => set({ status: v })} />
        <Select label="Time" value={fl.range} options={Object.keys(RANGE_MS)} names={{ '1h': 'Last hour', '24h': 'Last 24 h', '7d': 'Last 7 days', '30d': 'Last 30 days' }} all="Any time" onChange={(v) => set({ range: v })} />
        {filtered && (
          <button type="button" class="btn ghost" onClick={() => navigate('/logs', true)}>
            Clear
          </button>
        )}
      </form>
      {body}
      {detailId && <LogDetail id={detailId} initial={detailRow} onClose={() => navigate(`/logs${loc.params.toString() ? `?${loc.params}` : ''}`)} onDeleted={(id) => { setRows((r) => r.filter((x) => x.id !== id)); setTotal((t) => Math.max(0, t - 1)); }} />}
    </>
  );
}

function LiveBadge({ state }: { state: LiveState | 'paused' }) {
  const text = { live: 'Live', connecting: 'Connecting…', offline: 'Offline', paused: 'Paused' }[state];
  return (
    <span class={`live ${state}`} role="status" data-testid="live-state">
      <i aria-hidden="true" />
      {text}
    </span>
  );
}

function Select(props: { label: string; value: string; options: string[]; names?: Record<string, string>; all?: string; onChange: (v: string) => void }) {
  const opts = props.value && !props.options.includes(props.value) ? [props.value, ...props.options] : props.options;
  return (
    <label class="inline">
      <span class="sr-only">{props.label}</span>
      <select aria-label={props.label} value={props.value} onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}>
        <option value="">{props.all ?? `All ${props.label.toLowerCase()}s`}</option>
        {opts.map((o) => (
          <option key={o} value={o}>
            {props.names?.[o] ?? o}
          </option>
        ))}
      </select>
    </label>
  );
}

function LogTable({ rows, fresh, search }: { rows: LogEntry[]; fresh: Set<string>; search: string }) {
  const suffix = search ? `?${search}` : '';
  return (
    <div class="table-wrap">
      <table class="table logs" data-testid="logs-table">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Status</th>
            <th scope="col">Provider</th>
            <th scope="col">Model</th>
            <th scope="col">Type</th>
            <th scope="col" class="num">Latency</th>
            <th scope="col" class="num">Tokens</th>
            <th scope="col" class="num">Cost</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id} class={`clickable ${fresh.has(r.id) ? 'fresh' : ''}`} data-id={r.id} onClick={(e) => (e.target as HTMLElement).tagName !== 'A' && navigate(`/logs/${encodeURIComponent(r.id)}${suffix}`)}>
              <td>
                <Link href={`/logs/${encodeURIComponent(r.id)}${suffix}`}>{f.time(r.timestamp)}</Link>
              </td>
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td>{r.provider || '–'}</td>
              <td class="mono">{r.model || '–'}</td>
              <td class="muted">{r.object}{r.stream ? ' · stream' : ''}</td>
              <td class="num">{f.ms(r.latency)}</td>
              <td class="num">{f.num(r.token_usage?.total_tokens)}</td>
              <td class="num">{f.cost(r.cost)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
