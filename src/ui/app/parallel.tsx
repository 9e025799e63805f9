/**
 * ui/app/parallel — parallel coordinates in plain SVG: one polyline per item across numeric
 * (min–max) or categorical axes; an item without a value sits on the axis's "—" mark below it.
 * Used by Compare (a line per run, in the run's colour) and by a study (a line per trial,
 * coloured by its objective).
 */
import { fmtNum } from './util.js';

export interface Axis<T> {
  key: string;
  label: string;
  value: (item: T) => string | number | undefined;
}

/** Where a missing value is drawn, as a fraction of the axis (below its minimum). */
const MISSING = -0.1;

/** Blue (low) to red (high), t in [0, 1]. */
export function heat(t: number): string {
  return `hsl(${Math.round(220 - 220 * Math.max(0, Math.min(1, t)))} 75% 48%)`;
}

interface Scale {
  ticks: string[];
  at: (v: string | number) => number;
  cats: string[] | null;
}

function scaleOf<T>(items: T[], axis: Axis<T>): Scale {
  const values = items.map(axis.value).filter((v): v is string | number => v !== undefined);
  const numeric = values.every((v) => typeof v === 'number' || (v !== '' && Number.isFinite(Number(v))));
  if (numeric) {
    const nums = values.map(Number);
    const lo = Math.min(...nums);
    const hi = Math.max(...nums);
    return { ticks: [fmtNum(hi), fmtNum(lo)], at: (v) => (hi === lo ? 0.5 : (Number(v) - lo) / (hi - lo)), cats: null };
  }
  const cats = [...new Set(values.map(String))].sort();
  return { ticks: [], at: (v) => (cats.length === 1 ? 0.5 : cats.indexOf(String(v)) / (cats.length - 1)), cats };
}

export interface ParallelProps<T> {
  items: T[];
  axes: Axis<T>[];
  itemKey: (item: T) => string;
  title: (item: T) => string;
  color: (item: T) => string;
}

export function ParallelCoordinates<T>({ items, axes, itemKey, title, color }: ParallelProps<T>) {
  const W = Math.max(480, axes.length * 140);
  const H = 320;
  const pad = { top: 30, bottom: 40, left: 60, right: 60 };
  const x = (i: number): number => pad.left + (axes.length === 1 ? 0 : (i * (W - pad.left - pad.right)) / (axes.length - 1));
  const y = (t: number): number => H - pad.bottom - t * (H - pad.top - pad.bottom);
  const scales = axes.map((axis) => scaleOf(items, axis));
  return (
    <svg class="parallel" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`parallel coordinates of ${axes.map((a) => a.label).join(', ')}`}>
      {items.map((item) => {
        const points = axes.map((axis, i) => {
          const v = axis.value(item);
          return `${x(i)},${y(v === undefined ? MISSING : scales[i].at(v))}`;
        });
        return (
          <polyline class="pc-line" points={points.join(' ')} stroke={color(item)} data-key={itemKey(item)}>
            <title>{title(item)}</title>
          </polyline>
        );
      })}
      {axes.map((axis, i) => (
        <g>
          {items.some((r) => axis.value(r) === undefined) && (
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
