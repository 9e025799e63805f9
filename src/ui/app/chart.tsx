/**
 * ui/app/chart — uPlot line/scatter charts (canvas: 100,000 points draw in milliseconds, where
 * an SVG path of the same points takes far longer) that follow the theme and the container width.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef, useState } from 'preact/hooks';
import { markPainted, PALETTE } from './util.js';

export interface Series {
  label: string;
  /** x values ascending; y may hold null gaps. */
  x: ArrayLike<number>;
  y: ArrayLike<number | null>;
  color?: string;
  /** Points only (no line). */
  points?: boolean;
  dash?: boolean;
  /** Marker size for points. */
  size?: number;
}

export interface ChartProps {
  series: Series[];
  xLabel: string;
  yLabel?: string;
  /** x values are epoch seconds. */
  time?: boolean;
  height?: number;
  /** Logarithmic y axis (every y must be positive). */
  logY?: boolean;
  /** Names for integer x values 0…n-1 (a chart whose x is a run, not a step). */
  xNames?: string[];
  /** performance.mark name set once the first draw is painted. */
  mark?: string;
  testId?: string;
}

/** Joins series with different x values onto one x axis (uPlot's data shape). */
function align(series: Series[]): uPlot.AlignedData {
  // One series is passed as it is (typed arrays included): no copy of 100,000 points.
  if (series.length === 1) return [series[0].x, series[0].y] as unknown as uPlot.AlignedData;
  const xs = [...new Set(series.flatMap((s) => Array.from(s.x)))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const column: Array<number | null> = new Array(xs.length).fill(null);
    for (let i = 0; i < s.x.length; i++) column[index.get(s.x[i]) as number] = s.y[i];
    return column;
  });
  return [xs, ...ys] as uPlot.AlignedData;
}

const INTEGER_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7];

const cssVar = (name: string): string => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';

/** How many finite y values a series has: a series of one point has no line, only its marker. */
function finiteCount(y: ArrayLike<number | null>): number {
  let n = 0;
  for (let i = 0; i < y.length && n < 2; i++) if (y[i] !== null && Number.isFinite(y[i])) n++;
  return n;
}

function seriesOptions(s: Series, i: number): uPlot.Series {
  const color = s.color ?? PALETTE[i % PALETTE.length];
  const base = { label: s.label, stroke: color, width: 1.5, spanGaps: true, dash: s.dash ? [5, 4] : undefined };
  if (s.points) return { ...base, paths: () => null, points: { show: true, size: s.size ?? 6, fill: color } };
  // Dashed (pruned) series and single points show their markers: a trial pruned after one step is one point.
  const marked = s.dash === true || finiteCount(s.y) < 2;
  return { ...base, points: { show: marked, size: 8, fill: color } };
}

/** The page's theme (data-theme on <html>), so that charts redraw in its colours when it changes. */
function useTheme(): string | undefined {
  const [theme, setTheme] = useState(document.documentElement.dataset.theme);
  useEffect(() => {
    const observer = new MutationObserver(() => setTheme(document.documentElement.dataset.theme));
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    return () => observer.disconnect();
  }, []);
  return theme;
}

export function Chart({ series, xLabel, yLabel, time = false, height = 280, mark, testId, logY = false, xNames }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const theme = useTheme();
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axis = { stroke: cssVar('--fg-muted'), grid: { stroke: cssVar('--grid'), width: 1 }, ticks: { stroke: cssVar('--grid') } };
    const plot = new uPlot(
      {
        width: Math.max(320, el.clientWidth),
        height,
        scales: { x: { time }, y: logY ? { distr: 3 } : {} },
        legend: { live: series.length <= 12 },
        cursor: { drag: { x: true, y: false } },
        axes: [
          // Steps and trial numbers are integers: no ticks between them.
          { ...axis, label: xLabel, ...(time ? {} : { incrs: INTEGER_STEPS }), ...(xNames ? { values: (_u: uPlot, splits: number[]) => splits.map((v) => xNames[v] ?? '') } : {}) },
          { ...axis, label: yLabel, size: 60 },
        ],
        series: [
          { label: xLabel },
          ...series.map(seriesOptions),
        ],
      },
      align(series),
      el,
    );
    // What was drawn, for tests and for the log-scale toggle's state.
    el.dataset.scale = plot.scales.y.distr === 3 ? 'log' : 'linear';
    el.dataset.series = String(series.length);
    if (mark) markPainted(mark);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(320, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [series, xLabel, yLabel, time, height, mark, logY, xNames, theme]);
  return <div class="chart" ref={box} data-testid={testId} />;
}
