// A hand-written SVG time chart: stacked bars or lines over time buckets, with a y axis, a
// hover read-out and a legend. No chart library: the whole thing is a few kilobytes.
import { useEffect, useRef, useState } from 'preact/hooks';

/** One series; `null` marks a bucket without data (a gap in a line, no bar). */
export interface Series {
  name: string;
  values: (number | null)[];
}

interface Props {
  label: string;
  times: number[];
  series: Series[];
  kind: 'bars' | 'lines';
  format: (n: number) => string;
  height?: number;
}

const PAD = { left: 56, right: 12, top: 10, bottom: 22 };

export const color = (i: number) => `var(--c${(i % 8) + 1})`;

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function tick(t: number, span: number): string {
  const d = new Date(t);
  if (span > 2 * 86_400_000) return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
}

export function TimeChart(props: Props) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(600);
  const [hover, setHover] = useState<number | null>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(Math.max(240, el.clientWidth)));
    ro.observe(el);
    setWidth(Math.max(240, el.clientWidth));
    return () => ro.disconnect();
  }, []);

  const { times, series, kind, format } = props;
  const height = props.height ?? 180;
  const n = times.length;
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const totals = times.map((_, i) => series.reduce((s, x) => s + (x.values[i] || 0), 0));
  const peak = kind === 'bars' ? Math.max(0, ...totals) : Math.max(0, ...series.flatMap((s) => s.values.map((v) => v || 0)));
  const hasData = n > 0 && (kind === 'bars' ? peak > 0 : series.some((s) => s.values.some((v) => v !== null && v !== undefined)));
  const yMax = niceMax(peak);
  const band = n > 0 ? plotW / n : plotW;
  const y = (v: number) => PAD.top + plotH - (v / yMax) * plotH;
  const xMid = (i: number) => PAD.left + band * i + band / 2;
  const span = n > 1 ? times[n - 1] - times[0] : 0;
  const grid = [0, 0.5, 1].map((f) => f * yMax);
  const labelIdx = n <= 1 ? [0] : [0, Math.floor((n - 1) / 2), n - 1];

  const onMove = (e: MouseEvent) => {
    const rect = (e.currentTarget as SVGElement).getBoundingClientRect();
    const i = Math.floor((e.clientX - rect.left - PAD.left) / band);
    setHover(i >= 0 && i < n ? i : null);
  };

  return (
    <figure class="chart" ref={box}>
      {!hasData ? (
        <div class="chart-empty" style={{ height: `${height}px` }}>
          No data in this range
        </div>
      ) : (
        <svg width={width} height={height} role="img" aria-label={`${props.label}: peak ${format(peak)}`} onMouseMove={onMove} onMouseLeave={() => setHover(null)}>
          {grid.map((g) => (
            <g key={g}>
              <line class="grid" x1={PAD.left} x2={width - PAD.right} y1={y(g)} y2={y(g)} />
              <text class="axis" x={PAD.left - 6} y={y(g) + 4} text-anchor="end">
                {format(g)}
              </text>
            </g>
          ))}
          {labelIdx.map((i) => (
            <text key={i} class="axis" x={Math.min(Math.max(xMid(i), PAD.left + 20), width - PAD.right - 20)} y={height - 6} text-anchor="middle">
              {tick(times[i], span)}
            </text>
          ))}
          {kind === 'bars'
            ? times.map((_, i) => {
                let base = 0;
                const w = Math.max(1, band * 0.72);
                return (
                  <g key={i}>
                    {series.map((s, si) => {
                      const v = s.values[i] || 0;
                      if (v <= 0) return null;
                      const top = y(base + v);
                      const h = y(base) - top;
                      base += v;
                      return <rect key={si} x={xMid(i) - w / 2} y={top} width={w} height={Math.max(0.5, h)} fill={color(si)} rx={w > 6 ? 1.5 : 0} />;
                    })}
                  </g>
                );
              })
            : series.map((s, si) => {
                // Lines break where a bucket has no data; a lone point is drawn as a dot.
                const runs: [number, number][][] = [];
                let run: [number, number][] = [];
                s.values.forEach((v, i) => {
                  if (v === null || v === undefined) {
                    if (run.length) runs.push(run);
                    run = [];
                  } else run.push([xMid(i), y(v)]);
                });
                if (run.length) runs.push(run);
                return (
                  <g key={si}>
                    {runs.map((r, ri) =>
                      r.length === 1 ? (
                        <circle key={ri} cx={r[0][0]} cy={r[0][1]} r="3" fill={color(si)} />
                      ) : (
                        <polyline key={ri} fill="none" stroke={color(si)} stroke-width="2" stroke-linejoin="round" points={r.map(([x, yy]) => `${x.toFixed(1)},${yy.toFixed(1)}`).join(' ')} />
                      ),
                    )}
                  </g>
                );
              })}
          {hover !== null && <line class="guide" x1={xMid(hover)} x2={xMid(hover)} y1={PAD.top} y2={PAD.top + plotH} />}
        </svg>
      )}
      {hasData && hover !== null && (
        <div class="tooltip" style={{ left: `${Math.min(xMid(hover) + 12, width - 180)}px` }}>
          <div class="tooltip-time">{new Date(times[hover]).toLocaleString(undefined, { hour12: false })}</div>
          {series.map((s, si) => (
            <div key={si} class="tooltip-row">
              <i style={{ background: color(si) }} />
              <span>{s.name}</span>
              <b>{s.values[hover] === null ? '–' : format(s.values[hover] || 0)}</b>
            </div>
          ))}
        </div>
      )}
      {series.length > 0 && (
        <figcaption class="legend">
          {series.map((s, si) => (
            <span key={si}>
              <i style={{ background: color(si) }} />
              {s.name}
            </span>
          ))}
        </figcaption>
      )}
    </figure>
  );
}
