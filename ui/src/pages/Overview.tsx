// Overview: traffic, errors, latency, tokens and cost over a time range, by provider and model,
// from /api/logs/stats and the /api/logs/histogram family; refreshes on live log events.
import { useRef } from 'preact/hooks';
import { get, isUnavailable, query } from '../api';
import { TimeChart, type Series } from '../components/chart';
import { GettingStarted } from '../components/start';
import { Card, Loading, PageHeader, Problem, Stat } from '../components/ui';
import * as f from '../format';
import { settle, useLoad } from '../hooks';
import { useLiveLogs } from '../live';
import { navigate, useLocation } from '../router';
import type { CountBucket, Grouped, Histogram, LatencyBucket, Provider, Stats } from '../types';

export const RANGES: Record<string, { label: string; ms: number }> = {
  '1h': { label: 'Last hour', ms: 3_600_000 },
  '6h': { label: 'Last 6 hours', ms: 6 * 3_600_000 },
  '24h': { label: 'Last 24 hours', ms: 24 * 3_600_000 },
  '7d': { label: 'Last 7 days', ms: 7 * 86_400_000 },
  '30d': { label: 'Last 30 days', ms: 30 * 86_400_000 },
};

interface Data {
  providers: Provider[] | null;
  stats: Stats;
  requests: Histogram<CountBucket>;
  latency: Histogram<LatencyBucket>;
  tokens: Grouped;
  cost: Grouped;
  models: Grouped;
  modelCost: Grouped;
}

/** Series of a grouped histogram: one per provider (or model), `pick` reading a cell. */
function grouped(h: Grouped, group: 'provider' | 'model', pick: (cell: unknown) => number, top = 7): Series[] {
  const names = (h[`${group}s`] as string[] | undefined) ?? [];
  const all = names.map((name) => ({
    name,
    values: h.buckets.map((b) => {
      const cells = b[`by_${group}`] as Record<string, unknown> | undefined;
      return cells && name in cells ? pick(cells[name]) : 0;
    }),
  }));
  all.sort((a, b) => b.values.reduce((s, v) => s + v, 0) - a.values.reduce((s, v) => s + v, 0));
  if (all.length <= top) return all;
  const rest = all.slice(top);
  return [...all.slice(0, top), { name: `${rest.length} more`, values: h.buckets.map((_, i) => rest.reduce((s, r) => s + r.values[i], 0)) }];
}

const times = (h: Histogram<{ timestamp: string }>) => h.buckets.map((b) => Date.parse(b.timestamp));

async function load(range: string): Promise<Data> {
  // Rounded up: the API takes whole seconds, and a request in this second must count.
  const end = Math.ceil(Date.now() / 1000) * 1000;
  const q = query({ start_time: f.iso(end - RANGES[range].ms), end_time: f.iso(end) });
  const providers = await settle(get<{ providers: Provider[] }>('/api/providers'));
  const [stats, requests, latency, tokens, cost, models, modelCost] = await Promise.all([
    get<Stats>(`/api/logs/stats${q}`),
    get<Histogram<CountBucket>>(`/api/logs/histogram${q}`),
    get<Histogram<LatencyBucket>>(`/api/logs/histogram/latency${q}`),
    get<Grouped>(`/api/logs/histogram/tokens/by-provider${q}`),
    get<Grouped>(`/api/logs/histogram/cost/by-provider${q}`),
    get<Grouped>(`/api/logs/histogram/models${q}`),
    get<Grouped>(`/api/logs/histogram/cost${q}`),
  ]);
  return {
    providers: 'ok' in providers ? providers.ok.providers : null,
    stats,
    requests,
    latency,
    tokens,
    cost,
    models,
    modelCost,
  };
}

export function Overview() {
  const loc = useLocation();
  const range = RANGES[loc.params.get('range') ?? ''] ? (loc.params.get('range') as string) : '24h';
  const res = useLoad(() => load(range), range);
  const pending = useRef<number | undefined>(undefined);
  const onLive = () => {
    if (pending.current === undefined) {
      pending.current = window.setTimeout(() => {
        pending.current = undefined;
        res.reload();
      }, 1500);
    }
  };
  useLiveLogs(onLive, !isUnavailable(res.error));

  const picker = (
    <label class="inline">
      <span class="sr-only">Time range</span>
      <select value={range} onChange={(e) => navigate(`/?range=${(e.target as HTMLSelectElement).value}`, true)}>
        {Object.entries(RANGES).map(([k, v]) => (
          <option key={k} value={k}>
            {v.label}
          </option>
        ))}
      </select>
    </label>
  );

  let body;
  if (res.error) {
    body = (
      <>
        <Problem error={res.error} what="Request statistics" />
        {isUnavailable(res.error) && <GettingStarted hasProvider={false} />}
      </>
    );
  } else if (!res.data) {
    body = <Loading />;
  } else {
    body = <Dashboard data={res.data} range={range} />;
  }
  return (
    <>
      <PageHeader title="Overview" subtitle="Traffic through this gateway" actions={picker} />
      {body}
    </>
  );
}

function Dashboard({ data, range }: { data: Data; range: string }) {
  const { stats, requests, latency } = data;
  const hasProvider = (data.providers?.length ?? 0) > 0;
  if (stats.total_requests === 0 && !hasProvider) return <GettingStarted hasProvider={false} />;
  const size = requests.bucket_size_seconds || 60;
  const sums = requests.buckets.reduce((a, b) => ({ count: a.count + b.count, error: a.error + b.error }), { count: 0, error: 0 });
  const errorRate = sums.count ? (sums.error / sums.count) * 100 : 0;
  const rps = stats.total_requests / (RANGES[range].ms / 1000);
  const peakP99 = Math.max(0, ...latency.buckets.filter((b) => b.total_requests > 0).map((b) => b.p99_latency));
  const peakRps = Math.max(0, ...requests.buckets.map((b) => b.count)) / size;
  const perSec = (n: number) => n / size;
  // Latency and error rate mean nothing for a bucket without requests: a gap, not a zero.
  const lat = (b: LatencyBucket, v: number) => (b.total_requests > 0 ? v : null);
  return (
    <>
      {stats.total_requests === 0 && (
        <div class="notice" role="note">
          No requests in this range yet. Send one with the snippet below; it appears here and in Logs as soon as it is done.
        </div>
      )}
      <div class="stats">
        <Stat label="Requests" value={f.num(stats.total_requests)} />
        <Stat label="Requests / s" value={f.rate(rps)} hint={`average; peak ${f.rate(peakRps)}/s`} />
        <Stat label="Error rate" value={f.pct(errorRate)} />
        <Stat label="Avg latency" value={f.ms(stats.average_latency)} />
        <Stat label="p99 latency" value={peakP99 ? f.ms(peakP99) : '–'} hint="worst time bucket" />
        <Stat label="Tokens" value={f.num(stats.total_tokens)} />
        <Stat label="Cost" value={f.cost(stats.total_cost)} />
      </div>
      <div class="grid2">
        <Card title="Requests per second">
          <TimeChart
            label="Requests per second"
            kind="bars"
            times={times(requests)}
            format={f.rate}
            series={[
              { name: 'success', values: requests.buckets.map((b) => perSec(b.success)) },
              { name: 'error', values: requests.buckets.map((b) => perSec(b.error)) },
              { name: 'cancelled', values: requests.buckets.map((b) => perSec(b.cancelled)) },
            ]}
          />
        </Card>
        <Card title="Error rate">
          <TimeChart
            label="Error rate"
            kind="lines"
            times={times(requests)}
            format={f.pct}
            series={[{ name: 'errors %', values: requests.buckets.map((b) => (b.count ? (b.error / b.count) * 100 : null)) }]}
          />
        </Card>
        <Card title="Latency">
          <TimeChart
            label="Latency"
            kind="lines"
            times={times(latency)}
            format={f.ms}
            series={[
              { name: 'avg', values: latency.buckets.map((b) => lat(b, b.avg_latency)) },
              { name: 'p90', values: latency.buckets.map((b) => lat(b, b.p90_latency)) },
              { name: 'p99', values: latency.buckets.map((b) => lat(b, b.p99_latency)) },
            ]}
          />
        </Card>
        <Card title="Tokens by provider">
          <TimeChart label="Tokens by provider" kind="bars" times={times(data.tokens)} format={f.num} series={grouped(data.tokens, 'provider', (c) => (c as { total_tokens?: number })?.total_tokens ?? 0)} />
        </Card>
        <Card title="Cost by provider">
          <TimeChart label="Cost by provider" kind="bars" times={times(data.cost)} format={f.cost} series={grouped(data.cost, 'provider', (c) => Number(c) || 0)} />
        </Card>
        <Card title="Cost by model">
          <TimeChart label="Cost by model" kind="bars" times={times(data.modelCost)} format={f.cost} series={grouped(data.modelCost, 'model', (c) => Number(c) || 0)} />
        </Card>
        <Card title="Requests by model" class="span2">
          <TimeChart label="Requests by model" kind="bars" times={times(data.models)} format={f.num} series={grouped(data.models, 'model', (c) => (c as { total?: number })?.total ?? 0)} />
        </Card>
      </div>
      {stats.total_requests === 0 && <GettingStarted hasProvider={hasProvider} />}
    </>
  );
}
