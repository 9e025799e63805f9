/**
 * ui/app/pages/runs-csv — the runs table as CSV (RFC 4180: CRLF lines, fields quoted when they
 * hold a comma, quote or line break), downloaded from the browser with no server round trip.
 */
import type { Row } from './runs-rows.js';
import { PARENT_TAG } from './runs-rows.js';

function field(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One line per run (children too, expanded or not); `columns` are ids like "metrics.val_acc". */
export function runsCsv(rows: Row[], columns: string[]): string {
  const fixed = ['run_id', 'run_name', 'parent_run_id', 'status', 'start_time', 'end_time'];
  const lines = [[...fixed, ...columns].map(field).join(',')];
  for (const r of rows) {
    const info = r.run.info;
    const values = columns.map((id) => {
      const dot = id.indexOf('.');
      const kind = id.slice(0, dot);
      const key = id.slice(dot + 1);
      return kind === 'metrics' ? r.metrics[key] : kind === 'params' ? r.params[key] : r.tags[key];
    });
    const iso = (ms: number | null | undefined): string | undefined => (ms ? new Date(ms).toISOString() : undefined);
    lines.push([info.run_id, info.run_name, r.tags[PARENT_TAG], info.status, iso(info.start_time), iso(info.end_time), ...values].map(field).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** Saves `text` as a file through a temporary object URL. */
export function downloadCsv(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
