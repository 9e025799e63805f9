/**
 * ui/app/pages/runs-rows — a page of runs as table rows: each run indexed by key, and child runs
 * (MLflow's `mlflow.parentRunId` tag, which every study trial carries) nested under a parent
 * that is on the same page. A child whose parent is elsewhere stays at the top level.
 */
import { PARENT_RUN_TAG, type Run } from '../api.js';

export const PARENT_TAG = PARENT_RUN_TAG;

export interface Row {
  run: Run;
  params: Record<string, string>;
  metrics: Record<string, number>;
  tags: Record<string, string>;
  /** 0 for a top-level run, 1 for a child shown under its parent. */
  depth: number;
  /** How many runs of the page name this one as their parent. */
  children: number;
}

/**
 * Orders rows as the table shows them: top-level runs in the server's order, each followed by
 * its children (in the server's order too) when its id is in `expanded`.
 */
export function nest(rows: Row[], expanded: Set<string>): Row[] {
  const ids = new Set(rows.map((r) => r.run.info.run_id));
  const kids = new Map<string, Row[]>();
  for (const row of rows) {
    const parent = row.tags[PARENT_TAG];
    if (parent !== undefined && ids.has(parent) && parent !== row.run.info.run_id) {
      const list = kids.get(parent) ?? [];
      list.push({ ...row, depth: 1 });
      kids.set(parent, list);
    }
  }
  const shown: Row[] = [];
  for (const row of rows) {
    const parent = row.tags[PARENT_TAG];
    if (parent !== undefined && ids.has(parent) && parent !== row.run.info.run_id) continue;
    const id = row.run.info.run_id;
    const children = kids.get(id) ?? [];
    shown.push({ ...row, depth: 0, children: children.length });
    if (expanded.has(id)) shown.push(...children);
  }
  return shown;
}
