/**
 * ui/app/pages/run — one run: its description (MLflow's `mlflow.note.content` tag) and tags,
 * both editable, its params, its dataset (inputs, counts per class and split, sample images:
 * ../dataset), metric charts by step or by time, an artifact
 * browser with previews, and the registered model versions made from it.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, NOTE_TAG, PARENT_RUN_TAG, quote, type ArtifactFile } from '../api.js';
import { Chart } from '../chart.js';
import { DatasetSection } from '../dataset.js';
import { Description, TagEditor } from '../editable.js';
import { href, setQuery, type Route } from '../router.js';
import { Badge, ErrorBox, fmtBytes, fmtDuration, fmtNum, fmtTime, Section, useLoad } from '../util.js';

const PREVIEW_BYTES = 256 * 1024;
const TEXT = /\.(txt|json|ya?ml|md|csv|log|py|ts|js|html|toml|ini|cfg|MLmodel)$|^MLmodel$|(^|\/)[^.]+$/i;
const IMAGE = /\.(png|jpe?g|gif|svg|webp)$/i;

function MetricChart({ runId, metric, axis }: { runId: string; metric: string; axis: 'step' | 'time' }) {
  const history = useLoad(() => api.metricColumns(runId, metric), [runId, metric]);
  const series = useMemo(() => {
    const data = history.data;
    if (!data) return [];
    if (axis === 'step') return [{ label: metric, x: data.steps, y: data.values }];
    // By time: reorder only when logging times do not already follow the steps.
    let sorted = true;
    for (let i = 1; i < data.timestamps.length && sorted; i++) sorted = data.timestamps[i - 1] <= data.timestamps[i];
    const order = Array.from(data.timestamps.keys());
    if (!sorted) order.sort((a, b) => data.timestamps[a] - data.timestamps[b]);
    return [{ label: metric, x: Float64Array.from(order, (i) => data.timestamps[i] / 1000), y: Float64Array.from(order, (i) => data.values[i]) }];
  }, [history.data, axis, metric]);
  if (history.error) return <ErrorBox error={history.error} />;
  if (!history.data) return <p class="muted">Loading {metric}…</p>;
  return (
    <figure class="metric-chart" data-metric={metric} data-points={history.data.steps.length}>
      <figcaption>
        {metric} <span class="muted">({history.data.steps.length} points)</span>
      </figcaption>
      <Chart series={series} xLabel={axis === 'step' ? 'step' : 'time'} time={axis === 'time'} mark="kiln:metric-chart" testId={`chart-${metric}`} />
    </figure>
  );
}

function Preview({ url, file }: { url: string; file: ArtifactFile }) {
  const [content, setContent] = useState<{ text?: string; image?: string; note?: string }>({});
  useEffect(() => {
    let live = true;
    let objectUrl: string | undefined;
    setContent({});
    if (IMAGE.test(file.path)) {
      void fetch(url)
        .then((r) => r.blob())
        .then((b) => {
          objectUrl = URL.createObjectURL(b);
          if (live) setContent({ image: objectUrl });
        });
    } else if (TEXT.test(file.path) && (file.file_size ?? 0) <= PREVIEW_BYTES) {
      void fetch(url)
        .then((r) => r.text())
        .then((t) => {
          let text = t;
          if (file.path.endsWith('.json')) {
            try {
              text = JSON.stringify(JSON.parse(t), null, 2);
            } catch {
              // shown as it is
            }
          }
          if (live) setContent({ text });
        });
    } else {
      setContent({ note: (file.file_size ?? 0) > PREVIEW_BYTES ? `Too large to preview (${fmtBytes(file.file_size)}).` : 'No preview for this file type.' });
    }
    return () => {
      live = false;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [url, file.path]);
  return (
    <div class="preview" aria-label={`preview of ${file.path}`}>
      <p>
        <strong>{file.path}</strong> <span class="muted">{fmtBytes(file.file_size)}</span>{' '}
        <a href={url} download>
          Download
        </a>
      </p>
      {content.text !== undefined && <pre data-testid="artifact-text">{content.text}</pre>}
      {content.image && <img src={content.image} alt={file.path} />}
      {content.note && <p class="muted">{content.note}</p>}
    </div>
  );
}

function Artifacts({ runId, route }: { runId: string; route: Route }) {
  const dir = route.query.get('dir') ?? '';
  const file = route.query.get('file') ?? '';
  const listing = useLoad(() => api.listArtifacts(runId, dir), [runId, dir]);
  const parent = dir.includes('/') ? dir.slice(0, dir.lastIndexOf('/')) : '';
  const chosen = listing.data?.files.find((f) => f.path === file);
  return (
    <div class="artifacts">
      <div class="tree" role="tree" aria-label="artifacts">
        <p class="mono">/{dir}</p>
        {dir && (
          <button class="link" role="treeitem" onClick={() => setQuery({ dir: parent || undefined, file: undefined })}>
            ↑ ..
          </button>
        )}
        {listing.data?.files.map((f) => (
          <button
            class={`link${f.path === file ? ' current' : ''}`}
            role="treeitem"
            onClick={() => setQuery(f.is_dir ? { dir: f.path, file: undefined } : { file: f.path })}
            data-artifact={f.path}
          >
            {f.path.split('/').pop()}
            {f.is_dir ? '/' : ''} <span class="muted">{f.is_dir ? '' : fmtBytes(f.file_size)}</span>
          </button>
        ))}
        {listing.data?.files.length === 0 && <p class="muted">No artifacts.</p>}
        <ErrorBox error={listing.error} />
      </div>
      {chosen && listing.data && <Preview url={api.artifactUrl(listing.data.root, chosen.path)} file={chosen} />}
    </div>
  );
}

export function RunPage({ route, runId }: { route: Route; runId: string }) {
  // Charts named in the URL start loading with the run, not after it.
  useMemo(() => {
    for (const m of (route.query.get('metrics') ?? '').split(',').filter((k) => k !== '')) void api.metricColumns(runId, m).catch(() => undefined);
  }, [runId]);
  const run = useLoad(() => api.getRun(runId), [runId]);
  const versions = useLoad(() => api.searchVersions(`run_id = ${quote(runId)}`), [runId]);
  const axis = route.query.get('x') === 'time' ? 'time' : 'step';
  const r = run.data;
  const metricKeys = (r?.data.metrics ?? []).map((m) => m.key).sort();
  const first = ['val_acc', 'val_loss', 'train_loss', 'train_acc'];
  const defaults = [...first.filter((k) => metricKeys.includes(k)), ...metricKeys.filter((k) => !first.includes(k))].slice(0, 4);
  const shown = route.query.has('metrics') ? (route.query.get('metrics') ?? '').split(',').filter((m) => m !== '') : defaults;
  // Charts named in the URL render while the run itself loads: the long histories are the slow part.
  const metricsSection = (
    <Section title="Metrics" id="metrics">
      {r && (
        <div class="toolbar">
          <span role="group" aria-label="x axis">
            <button aria-pressed={axis === 'step'} onClick={() => setQuery({ x: undefined })}>
              By step
            </button>
            <button aria-pressed={axis === 'time'} onClick={() => setQuery({ x: 'time' })}>
              By time
            </button>
          </span>
          {metricKeys.map((k) => (
            <label class="chip">
              <input type="checkbox" checked={shown.includes(k)} onChange={() => setQuery({ metrics: (shown.includes(k) ? shown.filter((m) => m !== k) : [...shown, k]).join(',') })} /> {k}{' '}
              <span class="muted">{fmtNum(r.data.metrics.find((m) => m.key === k)?.value)}</span>
            </label>
          ))}
        </div>
      )}
      <div class="charts">
        {shown.map((m) => (
          <MetricChart runId={runId} metric={m} axis={axis} key={`${m}-${axis}`} />
        ))}
      </div>
      {r && metricKeys.length === 0 && <p class="muted">No metrics logged.</p>}
    </Section>
  );
  if (!r) {
    return (
      <main>
        <ErrorBox error={run.error} />
        {!run.error && <p class="muted">Loading run…</p>}
        {shown.length > 0 && metricsSection}
      </main>
    );
  }
  const info = r.info;
  return (
    <main>
      <nav class="crumbs" aria-label="breadcrumb">
        <a href="#/experiments">Experiments</a> / <a href={href(['experiments', info.experiment_id])}>experiment {info.experiment_id}</a> / <span>{info.run_name}</span>
      </nav>
      <h1>
        {info.run_name || info.run_id} <Badge state={info.status} />
      </h1>
      <dl class="facts">
        <dt>Run ID</dt>
        <dd class="mono">{info.run_id}</dd>
        <dt>Started</dt>
        <dd>{fmtTime(info.start_time)}</dd>
        <dt>Duration</dt>
        <dd>{fmtDuration(info.start_time, info.end_time)}</dd>
        <dt>User</dt>
        <dd>{info.user_id || '—'}</dd>
        <dt>Artifacts</dt>
        <dd class="mono">{info.artifact_uri}</dd>
      </dl>
      <Section title="Description" id="description">
        <Description text={r.data.tags.find((t) => t.key === NOTE_TAG)?.value ?? ''} onSave={(text) => api.setTag(runId, NOTE_TAG, text).then(run.reload)} />
      </Section>
      {metricsSection}
      <div class="two">
        <Section title="Parameters" id="params">
          <KeyValues items={r.data.params} />
        </Section>
        <Section title="Tags" id="tags">
          <TagEditor
            tags={r.data.tags.filter((t) => !t.key.startsWith('mlflow.') || t.key === PARENT_RUN_TAG)}
            readOnly={(key) => key.startsWith('mlflow.')}
            onSet={(key, value) => api.setTag(runId, key, value).then(run.reload)}
            onDelete={(key) => api.deleteTag(runId, key).then(run.reload)}
          />
        </Section>
      </div>
      <DatasetSection runId={runId} parentRunId={r.data.tags.find((t) => t.key === PARENT_RUN_TAG)?.value} inputs={r.inputs.dataset_inputs} />
      <Section title="Artifacts" id="artifacts">
        <Artifacts runId={runId} route={route} />
      </Section>
      <Section title="Registered model versions" id="versions">
        {(versions.data ?? []).length === 0 ? (
          <p class="muted">No model version was registered from this run.</p>
        ) : (
          <ul>
            {versions.data?.map((v) => (
              <li>
                <a href={href(['models', v.name])}>
                  {v.name} v{v.version}
                </a>{' '}
                {v.aliases.map((a) => (
                  <span class="alias">@{a}</span>
                ))}
              </li>
            ))}
          </ul>
        )}
      </Section>
    </main>
  );
}

function KeyValues({ items }: { items: Array<{ key: string; value: string }> }) {
  if (items.length === 0) return <p class="muted">None.</p>;
  return (
    <table class="grid kv">
      <tbody>
        {items
          .slice()
          .sort((a, b) => a.key.localeCompare(b.key))
          .map((i) => (
            <tr>
              <th scope="row">{i.key}</th>
              <td class="wrap">{i.value}</td>
            </tr>
          ))}
      </tbody>
    </table>
  );
}
