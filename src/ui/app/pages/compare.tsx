/**
 * ui/app/pages/compare — selected runs side by side, each in one colour everywhere on the page:
 * one metric overlaid across runs (a run with a single point shows its marker), min / max / last
 * of every metric per run, a parallel-coordinates view of their params against the metric, and
 * a diff of their params.
 */
import { useMemo } from 'preact/hooks';
import { api, type MetricColumns, type Run } from '../api.js';
import { Chart, type Series } from '../chart.js';
import { ParallelCoordinates, type Axis } from '../parallel.js';
import { href, setQuery, type Route } from '../router.js';
import { ErrorBox, fmtNum, runColor, Section, Swatch, useLoad } from '../util.js';

const param = (run: Run, key: string): string | undefined => run.data.params.find((p) => p.key === key)?.value;
const metric = (run: Run, key: string): number | undefined => run.data.metrics.find((m) => m.key === key)?.value;
const nameOf = (run: Run): string => run.info.run_name || run.info.run_id.slice(0, 8);

function Overlay({ runs, metricKey, colors }: { runs: Run[]; metricKey: string; colors: Map<string, string> }) {
  // The compact binary columns (already in step order), as the run page's charts read them: long
  // histories of many runs stay cheap to fetch and to draw.
  const histories = useLoad(() => Promise.all(runs.map((r) => api.metricColumns(r.info.run_id, metricKey))), [runs, metricKey]);
  const series = useMemo<Series[]>(
    () => (histories.data ?? []).map((h, i) => ({ label: nameOf(runs[i]), x: h.steps, y: h.values, color: colors.get(runs[i].info.run_id) })),
    [histories.data],
  );
  if (histories.error) return <ErrorBox error={histories.error} />;
  if (!histories.data) return <p class="muted">Loading…</p>;
  return <Chart series={series} xLabel="step" yLabel={metricKey} testId="compare-chart" mark="kiln:compare-chart" />;
}

interface Summary {
  min: number;
  max: number;
  last: number;
  steps: number;
}

function summarize(h: MetricColumns): Summary | undefined {
  if (h.values.length === 0) return undefined;
  let min = Infinity;
  let max = -Infinity;
  for (const v of h.values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max, last: h.values[h.values.length - 1], steps: h.values.length };
}

/** Min, max and last value of every metric of every run, from the full histories. */
function MetricSummary({ runs, metricKeys, colors }: { runs: Run[]; metricKeys: string[]; colors: Map<string, string> }) {
  const pairs = useMemo(() => metricKeys.flatMap((key) => runs.filter((r) => metric(r, key) !== undefined).map((run) => ({ key, run }))), [runs, metricKeys]);
  const loaded = useLoad(() => Promise.all(pairs.map((p) => api.metricColumns(p.run.info.run_id, p.key).then(summarize))), [pairs]);
  if (loaded.error) return <ErrorBox error={loaded.error} />;
  if (!loaded.data) return <p class="muted">Loading {pairs.length} histories…</p>;
  return (
    <div class="scroll-x">
      <table class="grid numbers" aria-label="metric summary">
        <thead>
          <tr>
            <th>Metric</th>
            <th>Run</th>
            <th>Min</th>
            <th>Max</th>
            <th>Last</th>
            <th>Steps</th>
          </tr>
        </thead>
        <tbody>
          {pairs.map(({ key, run }, i) => {
            const s = loaded.data?.[i];
            const first = i === 0 || pairs[i - 1].key !== key;
            return (
              <tr data-metric={key} data-run={run.info.run_id} class={first ? 'group-start' : ''}>
                <th scope="row">{first ? key : ''}</th>
                <td>
                  <Swatch color={colors.get(run.info.run_id) ?? '#888'} />
                  {nameOf(run)}
                </td>
                <td>{fmtNum(s?.min)}</td>
                <td>{fmtNum(s?.max)}</td>
                <td>{fmtNum(s?.last)}</td>
                <td>{s?.steps ?? 0}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function ComparePage({ route }: { route: Route }) {
  const ids = (route.query.get('runs') ?? '').split(',').filter((s) => s !== '');
  const loaded = useLoad(() => Promise.all(ids.map((id) => api.getRun(id))), [ids.join(',')]);
  const runs = loaded.data ?? [];
  // A run's colour follows its place in the URL: the same on the chips, the charts and the tables.
  const colors = useMemo(() => new Map(ids.map((id, i) => [id, runColor(i)])), [ids.join(',')]);
  const colorOf = (run: Run): string => colors.get(run.info.run_id) ?? '#888';
  const metricKeys = useMemo(() => [...new Set(runs.flatMap((r) => r.data.metrics.map((m) => m.key)))].sort(), [runs]);
  const paramKeys = [...new Set(runs.flatMap((r) => r.data.params.map((p) => p.key)))].sort();
  const chosenMetric = route.query.get('metric') ?? (metricKeys.includes('val_acc') ? 'val_acc' : metricKeys[0]);
  const onlyDiff = route.query.get('diff') !== 'all';
  const differing = paramKeys.filter((k) => new Set(runs.map((r) => param(r, k))).size > 1);
  const rows = onlyDiff ? differing : paramKeys;
  const metricAxis: Axis<Run> = { key: `metrics.${chosenMetric}`, label: chosenMetric ?? '', value: (r) => (chosenMetric ? metric(r, chosenMetric) : undefined) };
  const pcAxes: Axis<Run>[] = [...(differing.length > 0 ? differing : paramKeys).slice(0, 8).map((k): Axis<Run> => ({ key: `params.${k}`, label: k, value: (r) => param(r, k) })), metricAxis];
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
        {runs.map((r) => (
          <a class="chip" href={href(['runs', r.info.run_id])} data-run={r.info.run_id} style={{ borderColor: colorOf(r) }}>
            {nameOf(r)}
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
            {chosenMetric && <Overlay runs={runs} metricKey={chosenMetric} colors={colors} />}
          </Section>
          <Section title="Metrics: min, max and last value per run" id="metric-summary">
            {metricKeys.length > 0 ? <MetricSummary runs={runs} metricKeys={metricKeys} colors={colors} /> : <p class="muted">No metrics logged.</p>}
          </Section>
          <Section title="Parameters against the metric" id="parallel">
            {chosenMetric ? (
              <ParallelCoordinates items={runs} axes={pcAxes} itemKey={(r) => r.info.run_id} title={nameOf} color={colorOf} />
            ) : (
              <p class="muted">No metric to compare.</p>
            )}
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
                      <th data-run={r.info.run_id}>
                        <Swatch color={colorOf(r)} />
                        {nameOf(r)}
                      </th>
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
