/**
 * ui/app/pages/runs-charts — the chart view of an experiment's runs (MLflow's "Chart" tab): one
 * metric's latest value for every run of the page, and its history over steps for the first
 * runs that logged it, each run in its own colour.
 */
import { useMemo } from 'preact/hooks';
import { api, type Run } from '../api.js';
import { Chart, type Series } from '../chart.js';
import { setQuery } from '../router.js';
import { ErrorBox, runColor, Section, useLoad } from '../util.js';

/** Histories fetched for the steps chart: enough to see a trend, few enough to stay quick. */
const MAX_HISTORIES = 50;

const nameOf = (run: Run): string => run.info.run_name || run.info.run_id.slice(0, 8);
const latest = (run: Run, key: string): number | undefined => run.data.metrics.find((m) => m.key === key)?.value;

function Histories({ runs, metric }: { runs: Run[]; metric: string }) {
  const histories = useLoad(() => Promise.all(runs.map((r) => api.metricColumns(r.info.run_id, metric))), [runs, metric]);
  const series = useMemo<Series[]>(
    () => (histories.data ?? []).map((h, i) => ({ label: nameOf(runs[i]), x: h.steps, y: h.values, color: runColor(i) })),
    [histories.data],
  );
  if (histories.error) return <ErrorBox error={histories.error} />;
  if (!histories.data) return <p class="muted">Loading {runs.length} histories…</p>;
  return <Chart series={series} xLabel="step" yLabel={metric} testId="runs-steps-chart" />;
}

export function RunsCharts({ runs, metricKeys, metric }: { runs: Run[]; metricKeys: string[]; metric?: string }) {
  const chosen = metric && metricKeys.includes(metric) ? metric : metricKeys.includes('val_acc') ? 'val_acc' : metricKeys[0];
  const withMetric = useMemo(() => (chosen ? runs.filter((r) => latest(r, chosen) !== undefined) : []), [runs, chosen]);
  const names = useMemo(() => withMetric.map((r) => nameOf(r).slice(0, 14)), [withMetric]);
  const latestSeries = useMemo<Series[]>(
    () => (chosen ? [{ label: `latest ${chosen}`, x: withMetric.map((_, i) => i), y: withMetric.map((r) => latest(r, chosen) ?? null), points: true, size: 8 }] : []),
    [withMetric, chosen],
  );
  const traced = useMemo(() => withMetric.slice(0, MAX_HISTORIES), [withMetric]);
  if (!chosen) return <p class="muted">No run on this page logged a metric.</p>;
  return (
    <div data-testid="runs-charts">
      <label>
        Metric{' '}
        <select aria-label="chart metric" value={chosen} onChange={(e) => setQuery({ metric: e.currentTarget.value })}>
          {metricKeys.map((k) => (
            <option value={k}>{k}</option>
          ))}
        </select>
      </label>{' '}
      <span class="muted">
        {withMetric.length} of {runs.length} runs on this page logged {chosen}
      </span>
      <div class="two">
        <Section title={`Latest ${chosen} per run`} id="runs-latest">
          <Chart series={latestSeries} xLabel="run" yLabel={chosen} xNames={names} testId="runs-latest-chart" />
        </Section>
        <Section title={`${chosen} over steps${traced.length < withMetric.length ? ` (first ${traced.length} runs)` : ''}`} id="runs-steps">
          <Histories runs={traced} metric={chosen} />
        </Section>
      </div>
    </div>
  );
}
