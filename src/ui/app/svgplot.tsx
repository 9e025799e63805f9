/**
 * ui/app/svgplot — the little plotting kit behind the study plots (plain SVG, no chart library):
 * linear, log and categorical scales onto pixels, "nice" ticks, and a frame with both axes.
 * Small plots of tens to thousands of marks, where SVG's titles and CSS are worth more than a
 * canvas' speed.
 */
import type { ComponentChildren } from 'preact';
import { fmtNum } from './util.js';

export interface Scale {
  /** Value → pixel. */
  at: (v: number | string) => number;
  ticks: Array<{ at: number; label: string }>;
}

export interface Range {
  from: number;
  to: number;
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo === hi) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** A numeric scale over the data's extent (log when asked and every value is positive). */
export function numericScale(values: number[], px: Range, log = false): Scale {
  const finite = values.filter(Number.isFinite);
  const useLog = log && finite.length > 0 && finite.every((v) => v > 0);
  const f = useLog ? Math.log10 : (v: number): number => v;
  let lo = Math.min(...finite.map(f));
  let hi = Math.max(...finite.map(f));
  if (finite.length === 0) [lo, hi] = [0, 1];
  if (lo === hi) [lo, hi] = [lo - 0.5, hi + 0.5];
  const margin = (hi - lo) * 0.04;
  [lo, hi] = [lo - margin, hi + margin];
  const at = (v: number | string): number => px.from + ((f(Number(v)) - lo) / (hi - lo)) * (px.to - px.from);
  const ticks = (useLog ? logTicks(lo, hi) : niceTicks(lo, hi)).map((v) => ({ at: at(v), label: fmtNum(v) }));
  return { at, ticks };
}

/** Ticks of a log axis over [10^lo, 10^hi]: powers of ten, with 2× and 5× when few decades show. */
function logTicks(lo: number, hi: number): number[] {
  const all: number[] = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) for (const m of [1, 2, 5]) all.push(Number((m * 10 ** e).toPrecision(12)));
  const inside = all.filter((v) => Math.log10(v) >= lo && Math.log10(v) <= hi);
  const decades = inside.filter((v) => Number.isInteger(Math.log10(v)));
  return decades.length >= 3 ? decades : inside;
}

/** Evenly spaced bands, one per category, in the order given. */
export function categoryScale(categories: string[], px: Range): Scale {
  const step = (px.to - px.from) / Math.max(1, categories.length);
  const at = (v: number | string): number => px.from + step * (categories.indexOf(String(v)) + 0.5);
  return { at, ticks: categories.map((c) => ({ at: at(c), label: c })) };
}

export interface FrameProps {
  width: number;
  height: number;
  x: Scale;
  y: Scale;
  xLabel: string;
  yLabel: string;
  pad: { left: number; right: number; top: number; bottom: number };
  children: ComponentChildren;
}

/** Axes (ticks, grid, labels) around the plotted marks. */
export function Frame({ width, height, x, y, xLabel, yLabel, pad, children }: FrameProps) {
  const bottom = height - pad.bottom;
  return (
    <>
      {y.ticks.map((t) => (
        <g class="tick">
          <line class="grid-line" x1={pad.left} x2={width - pad.right} y1={t.at} y2={t.at} />
          <text x={pad.left - 5} y={t.at + 4} text-anchor="end">
            {t.label}
          </text>
        </g>
      ))}
      {x.ticks.map((t) => (
        <g class="tick">
          <line class="grid-line" x1={t.at} x2={t.at} y1={pad.top} y2={bottom} />
          <text x={t.at} y={bottom + 14} text-anchor="middle">
            {t.label}
          </text>
        </g>
      ))}
      <line class="axis" x1={pad.left} x2={width - pad.right} y1={bottom} y2={bottom} />
      <line class="axis" x1={pad.left} x2={pad.left} y1={pad.top} y2={bottom} />
      {children}
      <text class="axis-label" x={(pad.left + width - pad.right) / 2} y={height - 4} text-anchor="middle">
        {xLabel}
      </text>
      <text class="axis-label" transform={`translate(12 ${(pad.top + bottom) / 2}) rotate(-90)`} text-anchor="middle">
        {yLabel}
      </text>
    </>
  );
}
