/**
 * tracking/server/metric-sampling — metrics/get-history-bulk-interval as MLflow's server does
 * it: one metric of up to 100 runs, sampled on a shared set of steps so that a chart of many
 * long runs stays light. The steps are drawn evenly from every step any of the runs logged in
 * [start_step, end_step] (at most max_results of them, plus the last), and each run's first and
 * last step in range is always kept, so no curve loses its ends. Every value logged at a chosen
 * step is returned, by run (in the order asked), then step, then timestamp.
 */
import { invalid } from '../store/errors.js';
import type { Metric, TrackingStore } from '../store/types.js';

/** MLflow's limits (handlers.py). */
export const MAX_RUNS_GET_METRIC_HISTORY_BULK = 100;
export const MAX_RESULTS_PER_RUN = 2500;
/** The most values returned for one run, however many share the chosen steps. */
export const MAX_RESULTS_GET_METRIC_HISTORY = 25000;

export interface BulkIntervalQuery {
  run_ids: string[];
  metric_key: string;
  start_step?: number;
  end_step?: number;
  max_results?: number;
}

/** A sampled value, with the run it belongs to. */
export type MetricWithRunId = Metric & { run_id: string };

/** MLflow's checks, with its messages, before anything is read. */
function checkQuery(q: BulkIntervalQuery): { maxResults: number } {
  if (q.run_ids.length > MAX_RUNS_GET_METRIC_HISTORY_BULK) {
    throw invalid(
      `GetMetricHistoryBulkInterval request must specify at most ${MAX_RUNS_GET_METRIC_HISTORY_BULK} run_ids. Received ${q.run_ids.length} run_ids.`,
    );
  }
  const maxResults = q.max_results ?? MAX_RESULTS_PER_RUN;
  if (maxResults < 1 || maxResults > MAX_RESULTS_PER_RUN) throw invalid(`max_results must be between 1 and ${MAX_RESULTS_PER_RUN}.`);
  if ((q.start_step === undefined) !== (q.end_step === undefined)) {
    throw invalid('If either start step or end step are specified, both must be specified.');
  }
  if (q.start_step !== undefined && q.end_step !== undefined && q.start_step > q.end_step) {
    throw invalid(`end_step must be greater than start_step. Found start_step=${q.start_step} and end_step=${q.end_step}.`);
  }
  return { maxResults };
}

/** First index whose step is >= `step` (sorted input). */
function lowerBound(sorted: number[], step: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < step) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * MLflow's `_get_sampled_steps_from_steps`: up to `maxResults` steps evenly spaced through the
 * sorted `allSteps` within [start, end], plus the last one in range. One deliberate difference:
 * MLflow tests the absolute index against the count of steps in range, which drops every evenly
 * spaced step once `start` lies past the middle of the history (a zoomed chart gets only its
 * ends); Kiln keeps them. Where MLflow's test holds (most requests), the same steps come out.
 */
export function sampleSteps(start: number, end: number, maxResults: number, allSteps: number[]): Set<number> {
  const startIdx = lowerBound(allSteps, start);
  const endIdx = lowerBound(allSteps, end + 1);
  if (endIdx - startIdx <= maxResults) return new Set(allSteps.slice(startIdx, endIdx));
  const interval = (endIdx - startIdx) / maxResults;
  const sampled = new Set<number>();
  for (let i = 0; i < maxResults; i++) {
    sampled.add(allSteps[startIdx + Math.floor(i * interval)]);
  }
  sampled.add(allSteps[endIdx - 1]);
  return sampled;
}

/** Reads each run's full history of the metric (RESOURCE_DOES_NOT_EXIST for an unknown run) and samples it. */
export async function metricHistoryBulkInterval(store: TrackingStore, q: BulkIntervalQuery): Promise<MetricWithRunId[]> {
  const { maxResults } = checkQuery(q);
  const histories = new Map<string, Metric[]>();
  for (const runId of q.run_ids) histories.set(runId, (await store.getMetricHistory(runId, q.metric_key)).items);
  const perRun = [...histories.values()].map((h) => h.map((m) => m.step));
  const allSteps = [...new Set(perRun.flat())].sort((a, b) => a - b);
  const start = q.start_step ?? 0;
  const end = q.end_step ?? (allSteps.length > 0 ? allSteps[allSteps.length - 1] : 0);
  const steps = sampleSteps(start, end, maxResults, allSteps);
  for (const run of perRun) {
    if (run.length === 0) continue;
    // A loop, not Math.min(...run): histories run to 100,000+ points.
    const edges = run.reduce(([lo, hi], s) => [Math.min(lo, s), Math.max(hi, s)], [run[0], run[0]]);
    for (const edge of edges) if (edge >= start && edge <= end) steps.add(edge);
  }
  const out: MetricWithRunId[] = [];
  for (const runId of q.run_ids) {
    const chosen = histories
      .get(runId)!
      .filter((m) => steps.has(m.step))
      .sort((a, b) => a.step - b.step || a.timestamp - b.timestamp)
      .slice(0, MAX_RESULTS_GET_METRIC_HISTORY);
    for (const m of chosen) out.push({ key: m.key, value: m.value, timestamp: m.timestamp, step: m.step, run_id: runId });
  }
  return out;
}
