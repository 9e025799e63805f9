/**
 * ui/app/table — a virtualized table: only the rows in view (plus a margin) are in the DOM, so
 * 10,000 runs scroll and sort as fast as 100. Keyboard: ↑/↓/PgUp/PgDn/Home/End move, Space
 * selects, Enter opens; shift-click selects a range. Wider than its box, the body scrolls
 * sideways and the header follows it, so no column is ever out of reach.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

export interface Column<T> {
  id: string;
  label: string;
  width: number;
  render: (row: T) => ComponentChildren;
  /** Shown when sorted on this column. */
  sort?: 'ASC' | 'DESC';
  onSort?: () => void;
}

export interface VirtualTableProps<T> {
  rows: T[];
  columns: Column<T>[];
  rowKey: (row: T) => string;
  /** Extra attributes of a row's element: `class` is added to the row's own, data-* set as given. */
  rowAttrs?: (row: T) => Record<string, string | undefined>;
  selected?: Set<string>;
  onSelect?: (keys: Set<string>) => void;
  onOpen?: (row: T) => void;
  height?: number;
  label: string;
  onRendered?: () => void;
  /** Rows are being (re)loaded: shown as aria-busy, so tests and assistive tech wait for them. */
  busy?: boolean;
}

const ROW = 30;
const OVERSCAN = 10;
/** A cell's padding and some slack around a header's text (a sorted column measures its arrow too). */
const HEADER_EXTRA = 24;

let measure: CanvasRenderingContext2D | null = null;

/** A column wide enough for its header label (in the header's font), within [min, max]. */
export function labelWidth(label: string, min = 80, max = 260): number {
  measure ??= document.createElement('canvas').getContext('2d');
  if (!measure) return min;
  measure.font = `600 13px ${getComputedStyle(document.body).fontFamily}`;
  return Math.round(Math.max(min, Math.min(max, measure.measureText(label).width + HEADER_EXTRA)));
}

export function VirtualTable<T>({ rows, columns, rowKey, rowAttrs, selected, onSelect, onOpen, height = 560, label, onRendered, busy = false }: VirtualTableProps<T>) {
  const body = useRef<HTMLDivElement>(null);
  const head = useRef<HTMLDivElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const [boxWidth, setBoxWidth] = useState(Infinity);
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setBoxWidth(el.clientWidth));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const [top, setTop] = useState(0);
  const [active, setActive] = useState(0);
  const anchor = useRef<number | null>(null);
  const width = columns.reduce((w, c) => w + c.width, selected ? 36 : 0);

  useLayoutEffect(() => {
    if (rows.length > 0) onRendered?.();
  }, [rows, onRendered]);
  useEffect(() => setActive((a) => Math.min(a, Math.max(0, rows.length - 1))), [rows]);

  const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((top + height) / ROW) + OVERSCAN);

  const toggle = (index: number, range: boolean): void => {
    if (!selected || !onSelect) return;
    const next = new Set(selected);
    if (range && anchor.current !== null) {
      const [a, b] = anchor.current < index ? [anchor.current, index] : [index, anchor.current];
      for (let i = a; i <= b; i++) next.add(rowKey(rows[i]));
    } else {
      const key = rowKey(rows[index]);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      anchor.current = index;
    }
    onSelect(next);
  };

  const moveTo = (index: number): void => {
    const i = Math.max(0, Math.min(rows.length - 1, index));
    setActive(i);
    const el = body.current;
    if (!el) return;
    if (i * ROW < el.scrollTop) el.scrollTop = i * ROW;
    else if ((i + 1) * ROW > el.scrollTop + el.clientHeight) el.scrollTop = (i + 1) * ROW - el.clientHeight;
  };

  const onKey = (e: KeyboardEvent): void => {
    const page = Math.floor(height / ROW);
    const moves: Record<string, number> = { ArrowDown: active + 1, ArrowUp: active - 1, PageDown: active + page, PageUp: active - page, Home: 0, End: rows.length - 1 };
    if (e.key in moves) {
      e.preventDefault();
      moveTo(moves[e.key]);
    } else if (e.key === ' ' && rows[active]) {
      e.preventDefault();
      toggle(active, e.shiftKey);
    } else if (e.key === 'Enter' && rows[active]) {
      onOpen?.(rows[active]);
    }
  };

  const allSelected = selected !== undefined && rows.length > 0 && rows.every((r) => selected.has(rowKey(r)));
  return (
    <div class="vtable" ref={box} role="grid" aria-label={label} aria-rowcount={rows.length + 1} aria-busy={busy ? 'true' : 'false'} data-rows={rows.length}>
      <div class="vhead-box" ref={head} onScroll={(e) => syncLeft(e.currentTarget as HTMLDivElement, body.current)}>
      <div class="vhead" role="row" style={{ width: `${width}px` }}>
        {selected && (
          <div class="vcell vcheck" role="columnheader">
            <input
              type="checkbox"
              aria-label="select all"
              checked={allSelected}
              onChange={() => onSelect?.(allSelected ? new Set() : new Set(rows.map(rowKey)))}
            />
          </div>
        )}
        {columns.map((c) => (
          <div class="vcell" role="columnheader" style={{ width: `${c.width}px` }} aria-sort={c.sort === 'ASC' ? 'ascending' : c.sort === 'DESC' ? 'descending' : undefined}>
            {c.onSort ? (
              <button class="sort" onClick={c.onSort} title={`sort by ${c.label}`}>
                {c.label} {c.sort === 'ASC' ? '▲' : c.sort === 'DESC' ? '▼' : ''}
              </button>
            ) : (
              c.label
            )}
          </div>
        ))}
      </div>
      </div>
      <div
        class="vbody"
        ref={body}
        tabIndex={0}
        style={{ height: `${Math.min(height, Math.max(ROW, rows.length * ROW)) + (width > boxWidth ? 16 : 0)}px` }}
        onScroll={(e) => {
          const el = e.currentTarget as HTMLDivElement;
          setTop(el.scrollTop);
          syncLeft(el, head.current);
        }}
        onKeyDown={onKey}
      >
        <div style={{ height: `${rows.length * ROW}px`, width: `${width}px`, minWidth: '100%', position: 'relative' }}>
          {rows.slice(first, last).map((row, offset) => {
            const i = first + offset;
            const key = rowKey(row);
            const isSelected = selected?.has(key) ?? false;
            const { class: extra, ...attrs } = rowAttrs?.(row) ?? {};
            return (
              <div
                {...attrs}
                key={key}
                class={`vrow${i === active ? ' active' : ''}${isSelected ? ' selected' : ''}${extra ? ` ${extra}` : ''}`}
                role="row"
                aria-rowindex={i + 2}
                aria-selected={isSelected}
                data-key={key}
                style={{ transform: `translateY(${i * ROW}px)` }}
                onClick={() => setActive(i)}
                onDblClick={() => onOpen?.(row)}
              >
                {selected && (
                  <div class="vcell vcheck" role="gridcell">
                    <input
                      type="checkbox"
                      tabIndex={-1}
                      aria-label={`select ${key}`}
                      checked={isSelected}
                      onClick={(e) => {
                        e.stopPropagation();
                        toggle(i, e.shiftKey);
                      }}
                    />
                  </div>
                )}
                {columns.map((c) => (
                  <div class="vcell" role="gridcell" style={{ width: `${c.width}px` }}>
                    {c.render(row)}
                  </div>
                ))}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}

/** Keeps the header and the body at the same sideways scroll (either may be scrolled). */
function syncLeft(from: HTMLDivElement, to: HTMLDivElement | null): void {
  if (to && to.scrollLeft !== from.scrollLeft) to.scrollLeft = from.scrollLeft;
}
