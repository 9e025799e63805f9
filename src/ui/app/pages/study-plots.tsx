/**
 * ui/app/pages/study-plots — optuna-dashboard's study plots in plain SVG: slice plots (objective
 * against each parameter), a contour of the objective over two parameters, the empirical
 * distribution function of the objective, and a timeline of the trials. Log-distributed
 * parameters get log axes, categorical ones a band per choice.
 */
import { useMemo, useState } from 'preact/hooks';
import type { StudyReport, TrialReport } from '../api.js';
import { heat } from '../parallel.js';
import { categoryScale, Frame, numericScale, type Range, type Scale } from '../svgplot.js';
import { fmtNum } from '../util.js';

const PAD = { left: 58, right: 14, top: 10, bottom: 34 };

/** Complete trials with a value: what the slice, contour and EDF plots show. */
export const completeTrials = (study: StudyReport): TrialReport[] => study.trials.filter((t) => t.state === 'COMPLETE' && t.value !== null);

/** The scale of a parameter's axis, from its distribution (log, int/float, categorical). */
function paramScale(trials: TrialReport[], key: string, px: Range): { scale: Scale; numeric: boolean } {
  const dist = trials.find((t) => t.distributions[key])?.distributions[key];
  if (dist?.type === 'categorical') return { scale: categoryScale(dist.choices.map(String), px), numeric: false };
  const values = trials.map((t) => t.params[key]).filter((v) => typeof v === 'number');
  return { scale: numericScale(values, px, dist?.type !== undefined && dist.log), numeric: true };
}

const hasParam = (t: TrialReport, key: string): boolean => t.params[key] !== undefined && t.params[key] !== null;

function Slice({ trials, param, yScale, width, height, color }: { trials: TrialReport[]; param: string; yScale: Scale; width: number; height: number; color: (t: TrialReport) => string }) {
  const shown = trials.filter((t) => hasParam(t, param));
  const { scale: x } = paramScale(shown, param, { from: PAD.left, to: width - PAD.right });
  return (
    <svg class="plot" viewBox={`0 0 ${width} ${height}`} data-testid={`slice-${param}`} role="img" aria-label={`slice plot of ${param}`}>
      <Frame width={width} height={height} x={x} y={yScale} xLabel={param} yLabel="objective" pad={PAD}>
        {shown.map((t) => (
          <circle cx={x.at(t.params[param] as number | string)} cy={yScale.at(t.value as number)} r={4} fill={color(t)}>
            <title>{`#${t.number}: ${param}=${String(t.params[param])}, objective ${fmtNum(t.value)}`}</title>
          </circle>
        ))}
      </Frame>
    </svg>
  );
}

/** One plot per parameter; points coloured by trial number (early blue, late red). */
export function SlicePlots({ study }: { study: StudyReport }) {
  const trials = completeTrials(study);
  const params = [...new Set(trials.flatMap((t) => Object.keys(t.params)))].sort();
  const [width, height] = [360, 240];
  const y = numericScale(trials.map((t) => t.value as number), { from: height - PAD.bottom, to: PAD.top });
  const last = Math.max(1, ...trials.map((t) => t.number));
  if (trials.length === 0) return <p class="muted">No complete trial yet.</p>;
  return (
    <div class="small-multiples">
      {params.map((p) => (
        <Slice trials={trials} param={p} yScale={y} width={width} height={height} color={(t) => heat(t.number / last)} />
      ))}
    </div>
  );
}

const GRID = 36;
const LEVELS = 10;

/** Inverse-distance-weighted objective at (u, v) in [0, 1]², from the trials' positions. */
function interpolate(points: Array<{ u: number; v: number; value: number }>, u: number, v: number): number {
  let weights = 0;
  let sum = 0;
  for (const p of points) {
    const d2 = (p.u - u) ** 2 + (p.v - v) ** 2;
    if (d2 < 1e-12) return p.value;
    const w = 1 / (d2 * d2);
    weights += w;
    sum += w * p.value;
  }
  return sum / weights;
}

/**
 * The objective over two parameters: a grid interpolated from the trials (inverse distance
 * weighting) and cut into bands of equal width, the filled contour plot, with the trials on it.
 */
export function ContourPlot({ study }: { study: StudyReport }) {
  const trials = completeTrials(study);
  const params = [...new Set(trials.flatMap((t) => Object.keys(t.params)))].sort();
  const [xKey, setX] = useState(params[0]);
  const [yKey, setY] = useState(params[1] ?? params[0]);
  const [width, height] = [560, 420];
  const plotted = useMemo(() => trials.filter((t) => hasParam(t, xKey) && hasParam(t, yKey)), [trials, xKey, yKey]);
  const xs = paramScale(plotted, xKey, { from: PAD.left, to: width - PAD.right });
  const ys = paramScale(plotted, yKey, { from: height - PAD.bottom, to: PAD.top });
  const cells = useMemo(() => {
    const [x0, x1, y0, y1] = [PAD.left, width - PAD.right, height - PAD.bottom, PAD.top];
    const points = plotted.map((t) => ({
      u: (xs.scale.at(t.params[xKey] as number | string) - x0) / (x1 - x0),
      v: (ys.scale.at(t.params[yKey] as number | string) - y0) / (y1 - y0),
      value: t.value as number,
    }));
    if (points.length === 0) return [];
    const values = points.map((p) => p.value);
    const [lo, hi] = [Math.min(...values), Math.max(...values)];
    const out: Array<{ x: number; y: number; w: number; h: number; level: number; value: number }> = [];
    for (let i = 0; i < GRID; i++) {
      for (let j = 0; j < GRID; j++) {
        const value = interpolate(points, (i + 0.5) / GRID, (j + 0.5) / GRID);
        const level = hi === lo ? 0.5 : Math.min(LEVELS - 1, Math.floor(((value - lo) / (hi - lo)) * LEVELS)) / (LEVELS - 1);
        out.push({ x: x0 + (i * (x1 - x0)) / GRID, y: y0 + ((j + 1) * (y1 - y0)) / GRID, w: (x1 - x0) / GRID, h: (y0 - y1) / GRID, level, value });
      }
    }
    return out;
  }, [plotted, xKey, yKey]);
  if (params.length < 2) return <p class="muted">A contour needs two parameters; this study has {params.length}.</p>;
  return (
    <div>
      <div class="toolbar">
        <label>
          x{' '}
          <select aria-label="contour x" value={xKey} onChange={(e) => setX(e.currentTarget.value)}>
            {params.map((p) => (
              <option value={p}>{p}</option>
            ))}
          </select>
        </label>
        <label>
          y{' '}
          <select aria-label="contour y" value={yKey} onChange={(e) => setY(e.currentTarget.value)}>
            {params.map((p) => (
              <option value={p}>{p}</option>
            ))}
          </select>
        </label>
        <span class="muted">colour: objective, {LEVELS} bands from low (blue) to high (red)</span>
      </div>
      <svg class="plot contour" viewBox={`0 0 ${width} ${height}`} data-testid="contour" data-x={xKey} data-y={yKey} role="img" aria-label={`contour of the objective over ${xKey} and ${yKey}`}>
        {cells.map((c) => (
          <rect class="band" x={c.x} y={c.y} width={c.w + 0.5} height={c.h + 0.5} fill={heat(c.level)} />
        ))}
        <Frame width={width} height={height} x={xs.scale} y={ys.scale} xLabel={xKey} yLabel={yKey} pad={PAD}>
          {plotted.map((t) => (
            <circle class="trial-dot" cx={xs.scale.at(t.params[xKey] as number | string)} cy={ys.scale.at(t.params[yKey] as number | string)} r={4}>
              <title>{`#${t.number}: ${xKey}=${String(t.params[xKey])}, ${yKey}=${String(t.params[yKey])}, objective ${fmtNum(t.value)}`}</title>
            </circle>
          ))}
        </Frame>
      </svg>
    </div>
  );
}

/** Empirical distribution function: the share of complete trials whose objective is ≤ x. */
export function EdfPlot({ study }: { study: StudyReport }) {
  const values = completeTrials(study)
    .map((t) => t.value as number)
    .sort((a, b) => a - b);
  const [width, height] = [560, 280];
  if (values.length === 0) return <p class="muted">No complete trial yet.</p>;
  const x = numericScale(values, { from: PAD.left, to: width - PAD.right });
  const y = numericScale([0, 1], { from: height - PAD.bottom, to: PAD.top });
  let path = `M${x.at(values[0])},${y.at(0)}`;
  values.forEach((v, i) => {
    path += ` H${x.at(v)} V${y.at((i + 1) / values.length)}`;
  });
  return (
    <svg class="plot" viewBox={`0 0 ${width} ${height}`} data-testid="edf" data-n={values.length} role="img" aria-label="empirical distribution function of the objective">
      <Frame width={width} height={height} x={x} y={y} xLabel="objective" yLabel="cumulative share of trials" pad={PAD}>
        <path class="edf-line" d={path} />
      </Frame>
    </svg>
  );
}

/** Each trial as a bar from its start to its end, a row per trial, coloured by state. */
export function TimelinePlot({ study }: { study: StudyReport }) {
  const trials = study.trials.filter((t) => t.datetime_start !== null);
  if (trials.length === 0) return <p class="muted">No trial has started.</p>;
  const now = Date.now();
  const start = Math.min(...trials.map((t) => t.datetime_start as number));
  const end = (t: TrialReport): number => t.datetime_complete ?? (t.state === 'RUNNING' ? now : (t.datetime_start as number));
  const row = Math.max(3, Math.min(16, 480 / trials.length));
  const width = 960;
  const height = PAD.top + PAD.bottom + row * trials.length;
  const x = numericScale([0, ...trials.map((t) => (end(t) - start) / 1000)], { from: PAD.left, to: width - PAD.right });
  const numbers = trials.map((t) => t.number);
  const y: Scale = {
    at: (v) => PAD.top + numbers.indexOf(Number(v)) * row,
    ticks: trials.filter((_, i) => i % Math.ceil(trials.length / 12) === 0).map((t) => ({ at: PAD.top + numbers.indexOf(t.number) * row + row / 2, label: `#${t.number}` })),
  };
  const states = [...new Set(trials.map((t) => t.state))];
  return (
    <div>
      <p class="legend">
        {states.map((s) => (
          <span class={`legend-item state-${s.toLowerCase()}`}>
            <span class="legend-swatch" /> {s}
          </span>
        ))}
      </p>
      <svg class="plot timeline" viewBox={`0 0 ${width} ${height}`} data-testid="timeline" role="img" aria-label="timeline of the trials">
        <Frame width={width} height={height} x={x} y={y} xLabel="seconds since the first trial started" yLabel="trial" pad={PAD}>
          {trials.map((t) => {
            const x0 = x.at(((t.datetime_start as number) - start) / 1000);
            return (
              <rect class={`trial-bar state-${t.state.toLowerCase()}`} x={x0} y={y.at(t.number) + 1} width={Math.max(2, x.at((end(t) - start) / 1000) - x0)} height={Math.max(1, row - 2)}>
                <title>{`#${t.number} ${t.state}: ${((end(t) - (t.datetime_start as number)) / 1000).toFixed(1)} s, objective ${fmtNum(t.value)}`}</title>
              </rect>
            );
          })}
        </Frame>
      </svg>
    </div>
  );
}
