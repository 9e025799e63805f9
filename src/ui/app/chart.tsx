/**
 * ui/app/chart — uPlot line/scatter charts (canvas: 100,000 points draw in milliseconds, where
 * an SVG path of the same points takes far longer) that follow the theme and the container width.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'preact/hooks';
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
  /** performance.mark name set once the first draw is painted. */
  mark?: string;
  testId?: string;
}

/** Joins series with different x values onto one x axis (uPlot's data shape). */
function align(series: Series[]): uPlot.AlignedData {
  if (series.length === 1) return [Array.from(series[0].x), Array.from(series[0].y)] as uPlot.AlignedData;
  const xs = [...new Set(series.flatMap((s) => Array.from(s.x)))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const column: Array<number | null> = new Array(xs.length).fill(null);
    for (let i = 0; i < s.x.length; i++) column[index.get(s.x[i]) as number] = s.y[i];
    return column;
  });
  return [xs, ...ys] as uPlot.AlignedData;
}

const cssVar = (name: string): string => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';

export function Chart({ series, xLabel, yLabel, time = false, height = 280, mark, testId }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axis = { stroke: cssVar('--fg-muted'), grid: { stroke: cssVar('--grid'), width: 1 }, ticks: { stroke: cssVar('--grid') } };
    const plot = new uPlot(
      {
        width: Math.max(320, el.clientWidth),
        height,
        scales: { x: { time } },
        legend: { live: series.length <= 12 },
        cursor: { drag: { x: true, y: false } },
        axes: [
          { ...axis, label: xLabel },
          { ...axis, label: yLabel, size: 60 },
        ],
        series: [
          { label: xLabel },
          ...series.map((s, i) => ({
            label: s.label,
            stroke: s.color ?? PALETTE[i % PALETTE.length],
            width: 1.5,
            spanGaps: true,
            dash: s.dash ? [5, 4] : undefined,
            ...(s.points ? { paths: () => null, points: { show: true, size: s.size ?? 6, fill: s.color ?? PALETTE[i % PALETTE.length] } } : { points: { show: false } }),
          })),
        ],
      },
      align(series),
      el,
    );
    if (mark) markPainted(mark);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(320, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [series, xLabel, yLabel, time, height, mark]);
  return <div class="chart" ref={box} data-testid={testId} />;
}
