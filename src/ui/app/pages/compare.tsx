/**
 * ui/app/pages/compare — selected runs side by side: one metric overlaid across runs, a
 * parallel-coordinates view of their params against that metric, and a diff of their params.
 */
import { useMemo } from 'preact/hooks';
import { api, type Run } from '../api.js';
import { Chart, type Series } from '../chart.js';
import { href, setQuery, type Route } from '../router.js';
import { ErrorBox, fmtNum, PALETTE, Section, useLoad } from '../util.js';

interface Axis {
  key: string;
  label: string;
  value: (run: Run) => string | number | undefined;
}

const param = (run: Run, key: string): string | undefined => run.data.params.find((p) => p.key === key)?.value;
const metric = (run: Run, key: string): number | undefined => run.data.metrics.find((m) => m.key === key)?.value;

/** Where a missing value is drawn, as a fraction of the axis (below its minimum). */
const MISSING = -0.1;

/** Blue (low) to red (high). */
function heat(t: number): string {
  return `hsl(${Math.round(220 - 220 * Math.max(0, Math.min(1, t)))} 75% 48%)`;
}

function ParallelCoordinates({ runs, axes, colorBy }: { runs: Run[]; axes: Axis[]; colorBy: Axis }) {
  const W = Math.max(480, axes.length * 140);
  const H = 320;
  const pad = { top: 30, bottom: 40, left: 60, right: 60 };
  const x = (i: number): number => pad.left + (axes.length === 1 ? 0 : (i * (W - pad.left - pad.right)) / (axes.length - 1));
  const scales = axes.map((axis) => {
    const values = runs.map(axis.value).filter((v): v is string | number => v !== undefined);
    const numeric = values.every((v) => typeof v === 'number' || (v !== '' && Number.isFinite(Number(v))));
    if (numeric) {
      const nums = values.map(Number);
      const lo = Math.min(...nums);
      const hi = Math.max(...nums);
      return { ticks: [fmtNum(hi), fmtNum(lo)], at: (v: string | number) => (hi === lo ? 0.5 : (Number(v) - lo) / (hi - lo)), cats: null as string[] | null };
    }
    const cats = [...new Set(values.map(String))].sort();
    return { ticks: [], at: (v: string | number) => (cats.length === 1 ? 0.5 : cats.indexOf(String(v)) / (cats.length - 1)), cats };
  });
  const y = (t: number): number => H - pad.bottom - t * (H - pad.top - pad.bottom);
  const colorValues = runs.map((r) => Number(colorBy.value(r))).filter(Number.isFinite);
  const [cLo, cHi] = [Math.min(...colorValues), Math.max(...colorValues)];
  return (
    <svg class="parallel" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`parallel coordinates of ${axes.map((a) => a.label).join(', ')}`}>
      {runs.map((run) => {
        // A run without the param (e.g. a layer it does not have) sits on the axis's "—" mark below it.
        const points = axes.map((axis, i) => {
          const v = axis.value(run);
          return `${x(i)},${y(v === undefined ? MISSING : scales[i].at(v))}`;
        });
        const c = Number(colorBy.value(run));
        return (
          <polyline class="pc-line" points={points.join(' ')} stroke={Number.isFinite(c) ? heat(cHi === cLo ? 0.5 : (c - cLo) / (cHi - cLo)) : '#888'}>
            <title>{run.info.run_name}</title>
          </polyline>
        );
      })}
      {axes.map((axis, i) => (
        <g>
          {runs.some((r) => axis.value(r) === undefined) && (
            <text class="pc-tick" x={x(i) + 4} y={y(MISSING) + 4}>
              —
            </text>
          )}
          <line class="pc-axis" x1={x(i)} x2={x(i)} y1={y(0)} y2={y(1)} />
          <text class="pc-label" x={x(i)} y={14} text-anchor="middle">
            {axis.label}
          </text>
          {scales[i].cats
            ? scales[i].cats!.map((c) => (
                <text class="pc-tick" x={x(i) + 4} y={y(scales[i].at(c)) + 4}>
                  {c}
                </text>
              ))
            : [
                <text class="pc-tick" x={x(i) + 4} y={y(1) + 4}>
                  {scales[i].ticks[0]}
                </text>,
                <text class="pc-tick" x={x(i) + 4} y={y(0) + 4}>
                  {scales[i].ticks[1]}
                </text>,
              ]}
        </g>
      ))}
    </svg>
  );
}

function Overlay({ runs, metricKey }: { runs: Run[]; metricKey: string }) {
  // The compact binary columns (already in step order), as the run page's charts read them: long
  // histories of many runs stay cheap to fetch and to draw.
  const histories = useLoad(() => Promise.all(runs.map((r) => api.metricColumns(r.info.run_id, metricKey))), [runs, metricKey]);
  const series = useMemo<Series[]>(
    () =>
      (histories.data ?? []).map((h, i) => ({
        label: runs[i].info.run_name || runs[i].info.run_id.slice(0, 8),
        x: h.steps,
        y: h.values,
        color: PALETTE[i % PALETTE.length],
      })),
    [histories.data],
  );
  if (histories.error) return <ErrorBox error={histories.error} />;
  if (!histories.data) return <p class="muted">Loading…</p>;
  return <Chart series={series} xLabel="step" yLabel={metricKey} testId="compare-chart" mark="kiln:compare-chart" />;
}

export function ComparePage({ route }: { route: Route }) {
  const ids = (route.query.get('runs') ?? '').split(',').filter((s) => s !== '');
  const loaded = useLoad(() => Promise.all(ids.map((id) => api.getRun(id))), [ids.join(',')]);
  const runs = loaded.data ?? [];
  const metricKeys = [...new Set(runs.flatMap((r) => r.data.metrics.map((m) => m.key)))].sort();
  const paramKeys = [...new Set(runs.flatMap((r) => r.data.params.map((p) => p.key)))].sort();
  const chosenMetric = route.query.get('metric') ?? (metricKeys.includes('val_acc') ? 'val_acc' : metricKeys[0]);
  const onlyDiff = route.query.get('diff') !== 'all';
  const differing = paramKeys.filter((k) => new Set(runs.map((r) => param(r, k))).size > 1);
  const rows = onlyDiff ? differing : paramKeys;
  const metricAxis: Axis = { key: `metrics.${chosenMetric}`, label: chosenMetric ?? '', value: (r) => (chosenMetric ? metric(r, chosenMetric) : undefined) };
  const pcAxes: Axis[] = [...(differing.length > 0 ? differing : paramKeys).slice(0, 8).map((k): Axis => ({ key: `params.${k}`, label: k, value: (r) => param(r, k) })), metricAxis];
  const exp = route.query.get('exp');

  return (
    <main>
      <nav class="crumbs" aria-label="breadcrumb">
        <a href="#/experiments">Experiments</a>
        {exp && (
          <>
            {' '}/ <a href={href(['experiments', exp], { sel: ids.join(',') })}>runs</a>
          </>
        )}{' '}
        / <span>compare</span>
      </nav>
      <h1>Compare {ids.length} runs</h1>
      <ErrorBox error={loaded.error} />
      {ids.length === 0 && <p class="muted">Select runs on an experiment's runs page, then press Compare.</p>}
      <p>
        {runs.map((r, i) => (
          <a class="chip" href={href(['runs', r.info.run_id])} style={{ borderColor: PALETTE[i % PALETTE.length] }}>
            {r.info.run_name || r.info.run_id.slice(0, 8)}
          </a>
        ))}
      </p>
      {runs.length > 0 && (
        <>
          <Section title="Metric" id="overlay">
            <label>
              Metric{' '}
              <select aria-label="metric" value={chosenMetric} onChange={(e) => setQuery({ metric: e.currentTarget.value })}>
                {metricKeys.map((k) => (
                  <option value={k}>{k}</option>
                ))}
              </select>
            </label>
            {chosenMetric && <Overlay runs={runs} metricKey={chosenMetric} />}
          </Section>
          <Section title="Parameters against the metric" id="parallel">
            {chosenMetric ? <ParallelCoordinates runs={runs} axes={pcAxes} colorBy={metricAxis} /> : <p class="muted">No metric to compare.</p>}
          </Section>
          <Section title="Parameter diff" id="diff">
            <label>
              <input type="checkbox" checked={onlyDiff} onChange={() => setQuery({ diff: onlyDiff ? 'all' : undefined })} /> Only parameters that differ ({differing.length} of {paramKeys.length})
            </label>
            <div class="scroll-x">
              <table class="grid diff">
                <thead>
                  <tr>
                    <th>Parameter</th>
                    {runs.map((r) => (
                      <th>{r.info.run_name || r.info.run_id.slice(0, 8)}</th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {rows.map((k) => (
                    <tr class={differing.includes(k) ? 'differs' : ''}>
                      <th scope="row">{k}</th>
                      {runs.map((r) => (
                        <td>{param(r, k) ?? '—'}</td>
                      ))}
                    </tr>
                  ))}
                  {chosenMetric && (
                    <tr class="metric-row">
                      <th scope="row">{chosenMetric} (latest)</th>
                      {runs.map((r) => (
                        <td>{fmtNum(metric(r, chosenMetric))}</td>
                      ))}
                    </tr>
                  )}
                </tbody>
              </table>
            </div>
          </Section>
        </>
      )}
    </main>
  );
}
