/**
 * ui/app/pages/logged-models — MLflow 3's logged models across the active experiments: name, id,
 * status, experiment, the run that produced each, its latest metrics, params, tags and the
 * registered versions made from it. The filter box takes MLflow's logged-model grammar
 * (`metrics.acc > 0.9 AND params.lr = '0.01'`) and lives in the URL (`?filter=`).
 */
import { useState } from 'preact/hooks';
import { api, type LoggedModel, type Metric } from '../api.js';
import { href, setQuery, type Route } from '../router.js';
import { Badge, ErrorBox, fmtNum, fmtTime, useLoad } from '../util.js';

/** The latest value of each metric key (by step, then timestamp), whatever the dataset. */
function latestMetrics(metrics: Metric[]): Metric[] {
  const latest = new Map<string, Metric>();
  for (const m of metrics) {
    const seen = latest.get(m.key);
    if (!seen || m.step > seen.step || (m.step === seen.step && m.timestamp >= seen.timestamp)) latest.set(m.key, m);
  }
  return [...latest.values()].sort((a, b) => a.key.localeCompare(b.key));
}

const shortStatus = (status: string): string => status.replace(/^LOGGED_MODEL_/, '');

function Pairs({ items }: { items: { key: string; value: string }[] }) {
  return items.length === 0 ? <span class="muted">—</span> : <span>{items.map((p) => <span class="kv" key={p.key}>{`${p.key}=${p.value} `}</span>)}</span>;
}

async function load(filter: string): Promise<{ models: LoggedModel[]; experiments: Map<string, string>; more: boolean }> {
  const experiments = await api.searchExperiments({ view_type: 'ACTIVE_ONLY' });
  const names = new Map(experiments.map((e) => [e.experiment_id, e.name]));
  if (experiments.length === 0) return { models: [], experiments: names, more: false };
  const page = await api.searchLoggedModels({ experiment_ids: [...names.keys()], filter: filter || undefined, max_results: 200 });
  return { models: page.models, experiments: names, more: page.next_page_token !== undefined };
}

export function LoggedModelsPage({ route }: { route: Route }) {
  const filter = route.query.get('filter') ?? '';
  const [draft, setDraft] = useState(filter);
  const list = useLoad(() => load(filter), [filter]);
  const models = list.data?.models ?? [];
  return (
    <main>
      <h1>Logged models</h1>
      <div class="toolbar">
        <form
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            setQuery({ filter: draft });
          }}
        >
          <input
            type="search"
            placeholder="metrics.acc > 0.9 AND tags.stage = 'prod'"
            aria-label="filter logged models"
            style={{ width: '28em' }}
            value={draft}
            onInput={(e) => setDraft(e.currentTarget.value)}
            data-hotkey="/"
          />
          <button type="submit">Filter</button>
        </form>
      </div>
      <ErrorBox error={list.error} />
      <table class="grid" aria-label="logged models" aria-busy={list.loading ? 'true' : 'false'}>
        <thead>
          <tr>
            <th>Name</th>
            <th>ID</th>
            <th>Status</th>
            <th>Experiment</th>
            <th>Source run</th>
            <th>Metrics</th>
            <th>Params</th>
            <th>Tags</th>
            <th>Registered as</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {models.map(({ info, data }) => (
            <tr key={info.model_id} data-logged-model={info.model_id}>
              <td>{info.name}</td>
              <td class="mono">{info.model_id}</td>
              <td>
                <Badge state={shortStatus(info.status)} />
              </td>
              <td>
                <a href={href(['experiments', info.experiment_id])}>{list.data?.experiments.get(info.experiment_id) ?? info.experiment_id}</a>
              </td>
              <td class="mono">{info.source_run_id ? <a href={href(['runs', info.source_run_id])}>{info.source_run_id.slice(0, 8)}</a> : '—'}</td>
              <td>
                <Pairs items={latestMetrics(data.metrics).map((m) => ({ key: m.key, value: fmtNum(m.value) }))} />
              </td>
              <td>
                <Pairs items={data.params} />
              </td>
              <td>
                <Pairs items={info.tags.filter((t) => !t.key.startsWith('mlflow.'))} />
              </td>
              <td>
                {info.registrations.length === 0
                  ? '—'
                  : info.registrations.map((r) => (
                      <a key={`${r.name}/${r.version}`} href={href(['models', r.name])}>{`${r.name} v${r.version} `}</a>
                    ))}
              </td>
              <td>{fmtTime(info.creation_timestamp_ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data && models.length === 0 && <p class="muted">No logged models{filter ? ` matching ${filter}` : ''}.</p>}
      {list.data?.more && <p class="muted">Showing the newest {models.length}; narrow the filter to see others.</p>}
    </main>
  );
}
