/**
 * ui/app/pages/runs — the runs of one experiment: a virtualized table with chosen param, metric
 * and tag columns, server-side sorting and filtering (the REST API's search grammar), pages of
 * 100 to 10,000 runs, child runs nested under their parent (MLflow's `mlflow.parentRunId`),
 * multi-select leading to Compare, CSV export, and a chart view across the runs. All of it
 * lives in the URL.
 */
import { useCallback, useMemo, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { href, setQuery, type Route } from '../router.js';
import { labelWidth, VirtualTable, type Column } from '../table.js';
import { Badge, ErrorBox, fmtDuration, fmtNum, fmtTime, markPainted, useLoad } from '../util.js';
import { downloadCsv, runsCsv } from './runs-csv.js';
import { RunsCharts } from './runs-charts.js';
import { nest, PARENT_TAG, type Row } from './runs-rows.js';

function index(run: Row['run']): Row {
  const params: Record<string, string> = {};
  const metrics: Record<string, number> = {};
  const tags: Record<string, string> = {};
  for (const p of run.data.params) params[p.key] = p.value;
  for (const m of run.data.metrics) metrics[m.key] = m.value;
  for (const t of run.data.tags) tags[t.key] = t.value;
  return { run, params, metrics, tags, depth: 0, children: 0 };
}

/** "params.lr" → ['params', 'lr'] (keys may contain dots). */
function splitColumn(id: string): [string, string] {
  const dot = id.indexOf('.');
  return [id.slice(0, dot), id.slice(dot + 1)];
}

/** Backquotes keys the filter grammar would not read bare. */
const keyRef = (kind: string, key: string): string => (/^[A-Za-z_][\w.]*$/.test(key) ? `${kind}.${key}` : `${kind}.\`${key}\``);

const PAGE_SIZES = [100, 1000, 5000, 10000];

/** Param, metric and tag keys found in rows (the first thousand are enough to offer). */
function keysOf(rows: Row[]): { params: string[]; metrics: string[]; tags: string[] } {
  const found = { params: new Set<string>(), metrics: new Set<string>(), tags: new Set<string>() };
  for (const row of rows.slice(0, 1000)) {
    for (const k in row.params) found.params.add(k);
    for (const k in row.metrics) found.metrics.add(k);
    for (const k in row.tags) if (!k.startsWith('mlflow.')) found.tags.add(k);
  }
  return { params: [...found.params].sort(), metrics: [...found.metrics].sort(), tags: [...found.tags].sort() };
}

function RunName({ row, open, onToggle }: { row: Row; open: boolean; onToggle: () => void }) {
  const name = row.run.info.run_name || row.run.info.run_id.slice(0, 8);
  return (
    <span class="run-name">
      {row.children > 0 ? (
        <button type="button" class="expander" aria-expanded={open} aria-label={`${open ? 'collapse' : 'expand'} ${name} (${row.children} child run${row.children === 1 ? '' : 's'})`} onClick={onToggle}>
          {open ? '▾' : '▸'}
        </button>
      ) : (
        <span class="indent" />
      )}
      {row.depth > 0 && <span class="indent" />}
      <a href={href(['runs', row.run.info.run_id])}>{name}</a>
      {row.children > 0 && <span class="child-count">({row.children})</span>}
    </span>
  );
}

export function RunsPage({ route, experimentId }: { route: Route; experimentId: string }) {
  const q = route.query;
  const filter = q.get('filter') ?? '';
  const sort = q.get('sort') ?? 'attributes.start_time DESC';
  const size = Number(q.get('size') ?? 1000);
  const token = q.get('token') ?? undefined;
  const view = q.get('view') === 'charts' ? 'charts' : 'table';
  const selected = useMemo(() => new Set((q.get('sel') ?? '').split(',').filter((s) => s !== '')), [q.get('sel')]);
  const expanded = useMemo(() => new Set((q.get('expand') ?? '').split(',').filter((s) => s !== '')), [q.get('expand')]);
  const [draft, setDraft] = useState(filter);
  const [tokens, setTokens] = useState<string[]>([]);

  const experiment = useLoad(() => api.getExperiment(experimentId), [experimentId]);
  const runs = useLoad(
    () => api.searchRuns({ experiment_ids: [experimentId], filter: filter || undefined, order_by: [sort], max_results: size, page_token: token }).then((r) => ({ rows: r.runs.map(index), next: r.next_page_token })),
    [experimentId, filter, sort, size, token],
  );
  const all = runs.data?.rows ?? [];
  const rows = useMemo(() => nest(all, expanded), [all, expanded]);
  const parents = useMemo(() => nest(all, new Set()).filter((r) => r.children > 0).map((r) => r.run.info.run_id), [all]);
  const allOpen = parents.length > 0 && parents.every((id) => expanded.has(id));

  // A failed search (a bad filter) keeps the columns last seen: the picker is not emptied by it.
  const lastKeys = useRef(keysOf([]));
  const keys = useMemo(() => {
    if (runs.data) lastKeys.current = keysOf(all);
    return lastKeys.current;
  }, [all, runs.data]);

  const preferred = (list: string[], first: string[]): string[] => [...first.filter((k) => list.includes(k)), ...list.filter((k) => !first.includes(k))];
  const chosen = q.has('cols')
    ? (q.get('cols') ?? '').split(',').filter((c) => c !== '')
    : [
        ...preferred(keys.metrics, ['val_acc', 'val_loss', 'train_loss', 'test_acc']).slice(0, 4).map((k) => `metrics.${k}`),
        ...preferred(keys.params, ['lr', 'learning_rate', 'model', 'epochs']).slice(0, 4).map((k) => `params.${k}`),
      ];
  const setChosen = (cols: string[]): void => setQuery({ cols: cols.join(',') });

  const sortBy = (field: string) => () => setQuery({ sort: sort === `${field} DESC` ? `${field} ASC` : `${field} DESC`, token: undefined });
  const sortOf = (field: string): 'ASC' | 'DESC' | undefined => (sort === `${field} ASC` ? 'ASC' : sort === `${field} DESC` ? 'DESC' : undefined);
  const toggle = (id: string): void => {
    const next = new Set(expanded);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setQuery({ expand: [...next].join(',') });
  };

  const columns: Column<Row>[] = [
    { id: 'name', label: 'Run', width: 190, render: (r) => <RunName row={r} open={expanded.has(r.run.info.run_id)} onToggle={() => toggle(r.run.info.run_id)} />, onSort: sortBy('attributes.run_name'), sort: sortOf('attributes.run_name') },
    { id: 'status', label: 'Status', width: 100, render: (r) => <Badge state={r.run.info.status} />, onSort: sortBy('attributes.status'), sort: sortOf('attributes.status') },
    { id: 'start', label: 'Started', width: 165, render: (r) => fmtTime(r.run.info.start_time), onSort: sortBy('attributes.start_time'), sort: sortOf('attributes.start_time') },
    { id: 'duration', label: 'Duration', width: labelWidth('Duration'), render: (r) => fmtDuration(r.run.info.start_time, r.run.info.end_time) },
    ...chosen.map((id): Column<Row> => {
      const [kind, key] = splitColumn(id);
      const field = keyRef(kind, key);
      const sorted = sortOf(field);
      return {
        id,
        label: key,
        width: labelWidth(sorted ? `${key} ▼` : key, kind === 'tags' ? 110 : 76),
        render: (r) => (kind === 'metrics' ? fmtNum(r.metrics[key]) : kind === 'params' ? (r.params[key] ?? '—') : (r.tags[key] ?? '—')),
        onSort: sortBy(field),
        sort: sorted,
      };
    }),
  ];

  const onRendered = useCallback(() => markPainted('kiln:runs-table'), []);
  const select = (next: Set<string>): void => setQuery({ sel: [...next].join(',') });
  const goto = (next: string | undefined, back: boolean): void => {
    if (back) setTokens((t) => t.slice(0, -1));
    else if (token !== undefined || next) setTokens((t) => [...t, token ?? '']);
    setQuery({ token: next }, true);
  };
  const exportCsv = (): void => downloadCsv(`${experiment.data?.name ?? `experiment-${experimentId}`}-runs.csv`, runsCsv(all, chosen));
  const error = runs.error ? `Could not search runs${filter ? ' with this filter' : ''}: ${runs.error}` : experiment.error;

  return (
    <main>
      <nav class="crumbs" aria-label="breadcrumb">
        <a href="#/experiments">Experiments</a> / <span>{experiment.data?.name ?? experimentId}</span>
      </nav>
      <h1>{experiment.data?.name ?? 'Runs'}</h1>
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ filter: draft, token: undefined });
        }}
      >
        <input
          class="filter"
          type="search"
          aria-label="filter runs"
          placeholder="metrics.val_acc > 0.8 and params.optimizer = 'adam'"
          value={draft}
          onInput={(e) => setDraft(e.currentTarget.value)}
          data-hotkey="/"
        />
        <button type="submit">Filter</button>
        {filter && (
          <button
            type="button"
            onClick={() => {
              setDraft('');
              setQuery({ filter: undefined, token: undefined });
            }}
          >
            Clear
          </button>
        )}
      </form>
      <ErrorBox error={error} />
      <div class="toolbar">
        <span role="group" aria-label="view">
          <button type="button" aria-pressed={view === 'table'} onClick={() => setQuery({ view: undefined })}>
            Table
          </button>
          <button type="button" aria-pressed={view === 'charts'} onClick={() => setQuery({ view: 'charts' })}>
            Charts
          </button>
        </span>
        <details class="picker">
          <summary>Columns ({chosen.length})</summary>
          <div class="picker-body">
            {(['metrics', 'params', 'tags'] as const).map((kind) => (
              <fieldset>
                <legend>{kind}</legend>
                {keys[kind].map((k) => {
                  const id = `${kind}.${k}`;
                  return (
                    <label>
                      <input type="checkbox" checked={chosen.includes(id)} onChange={() => setChosen(chosen.includes(id) ? chosen.filter((c) => c !== id) : [...chosen, id])} /> {k}
                    </label>
                  );
                })}
              </fieldset>
            ))}
          </div>
        </details>
        <label>
          Page size{' '}
          <select value={String(size)} onChange={(e) => setQuery({ size: e.currentTarget.value, token: undefined })}>
            {PAGE_SIZES.map((n) => (
              <option value={String(n)}>{n}</option>
            ))}
          </select>
        </label>
        <button disabled={tokens.length === 0 && !token} onClick={() => goto(tokens[tokens.length - 1] || undefined, true)}>
          ← Previous
        </button>
        <button disabled={!runs.data?.next} onClick={() => goto(runs.data?.next, false)}>
          Next →
        </button>
        {parents.length > 0 && view === 'table' && (
          <button type="button" onClick={() => setQuery({ expand: allOpen ? undefined : parents.join(',') })}>
            {allOpen ? 'Collapse all' : 'Expand all'}
          </button>
        )}
        <span class="muted" aria-live="polite">
          {runs.loading ? 'Loading…' : runs.error ? '' : `${all.length} run${all.length === 1 ? '' : 's'} on this page`}
          {selected.size > 0 && ` · ${selected.size} selected`}
        </span>
        <span class="grow-right">
          <button type="button" disabled={all.length === 0} onClick={exportCsv} title="the runs of this page with the chosen columns">
            Export CSV
          </button>
          {selected.size > 0 && (
            <button type="button" onClick={() => select(new Set())}>
              Clear selection
            </button>
          )}
          <a class={`button${selected.size < 1 ? ' disabled' : ''}`} aria-disabled={selected.size < 1} href={selected.size > 0 ? href(['compare'], { runs: [...selected].join(','), exp: experimentId }) : undefined}>
            Compare ({selected.size})
          </a>
        </span>
      </div>
      {view === 'charts' ? (
        <RunsCharts runs={all.map((r) => r.run)} metricKeys={keys.metrics} metric={q.get('metric') ?? undefined} />
      ) : (
        <VirtualTable
          label="runs"
          rows={rows}
          columns={columns}
          rowKey={(r) => r.run.info.run_id}
          rowAttrs={(r) => (r.depth > 0 ? { class: 'child', 'data-parent': r.tags[PARENT_TAG] } : {})}
          selected={selected}
          onSelect={select}
          onOpen={(r) => (location.hash = href(['runs', r.run.info.run_id]))}
          onRendered={onRendered}
          busy={runs.loading}
        />
      )}
      {!runs.loading && !runs.error && all.length === 0 && <p class="muted">No runs{filter ? ' match the filter' : ''}.</p>}
    </main>
  );
}
