/**
 * ui/app/dataset — a run's dataset section: each dataset input (name, digest, source, the input
 * tags), and for Kiln's inputs the image schema, the items per class and split, and a grid of
 * the sample images per class the trainer logged under `dataset/samples/` (found through
 * `dataset/profile.json` once the section scrolls into view; the images load lazily). A study's trials show the samples their
 * parent (study) run holds: the trials train on its dataset, and logging them once is enough.
 *
 * Inputs logged by other tools show the summary row only; a run without inputs shows nothing.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { DATASET_SPLITS, readDataset, type DatasetProfileFile, type ReadDataset } from '../../tracking/dataset-json.js';
import type { DatasetInput } from '../../tracking/store/types.js';
import { api } from './api.js';
import { href } from './router.js';
import { ErrorBox, Section } from './util.js';

const DATASET_DIR = 'dataset';
/** Written by the trainer beside the samples (tracking/client/training-run logDatasetSamples); lists them. */
const PROFILE_FILE = 'dataset/profile.json';
/** Small images (28 x 28) are drawn at least this many CSS pixels on their long side, pixelated. */
const SAMPLE_DISPLAY = 56;

/** True once the element has come within a screen of the viewport (then stays true). */
function useSeen(): [{ current: HTMLDivElement | null }, boolean] {
  const ref = useRef<HTMLDivElement | null>(null);
  const [seen, setSeen] = useState(false);
  useEffect(() => {
    const element = ref.current;
    if (seen || !element) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) setSeen(true);
    }, { rootMargin: '200px' });
    observer.observe(element);
    return () => observer.disconnect();
  }, [seen]);
  return [ref, seen];
}

const fmtCount = (n: number): string => n.toLocaleString('en-US');

function Counts({ data }: { data: ReadDataset }) {
  const profile = data.profile;
  if (!profile) return null;
  const splits = DATASET_SPLITS.filter((s) => profile.splits[s] !== undefined);
  const names = data.schema?.class_names ?? [];
  const classes = Math.max(names.length, ...splits.map((s) => profile.splits[s]?.per_class.length ?? 0));
  const count = (split: (typeof splits)[number], label: number): number => profile.splits[split]?.per_class[label] ?? 0;
  return (
    <div class="scroll-x">
      <table class="grid numbers dataset-counts" aria-label={`items per class and split of ${data.name}`}>
        <thead>
          <tr>
            <th>Class</th>
            {splits.map((s) => (
              <th data-split={s}>{s}</th>
            ))}
            <th>total</th>
          </tr>
        </thead>
        <tbody>
          {Array.from({ length: classes }, (_, label) => (
            <tr data-class={label}>
              <th scope="row">
                <span class="muted">{label}</span> {names[label] ?? ''}
              </th>
              {splits.map((s) => (
                <td data-split={s}>{fmtCount(count(s, label))}</td>
              ))}
              <td>{fmtCount(splits.reduce((sum, s) => sum + count(s, label), 0))}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr class="group-start" data-class="total">
            <th scope="row">total</th>
            {splits.map((s) => (
              <td data-split={s}>{fmtCount(profile.splits[s]?.num_items ?? 0)}</td>
            ))}
            <td>{fmtCount(profile.num_items)}</td>
          </tr>
        </tfoot>
      </table>
    </div>
  );
}

interface SampleClass {
  /** `<label>_<safe class name>`, the folder below dataset/samples/. */
  folder: string;
  label: number;
  urls: string[];
}

/** The samples a run's dataset/profile.json lists, by class: one listing and one small file, however many classes; null without one. */
async function runSamples(runId: string): Promise<SampleClass[] | null> {
  const listing = await api.listArtifacts(runId, DATASET_DIR);
  if (!listing.files.some((f) => f.path === PROFILE_FILE)) return null;
  const response = await fetch(api.artifactUrl(listing.root, PROFILE_FILE));
  if (!response.ok) throw new Error(`${PROFILE_FILE}: HTTP ${response.status}`);
  const files = ((await response.json()) as Partial<DatasetProfileFile>).samples?.files ?? [];
  const classes = new Map<string, SampleClass>();
  for (const file of files) {
    const folder = file.slice(0, file.lastIndexOf('/')).replace(/^samples\//, '');
    let entry = classes.get(folder);
    if (!entry) classes.set(folder, (entry = { folder, label: Number.parseInt(folder, 10), urls: [] }));
    entry.urls.push(api.artifactUrl(listing.root, `${DATASET_DIR}/${file}`));
  }
  return [...classes.values()].sort((a, b) => a.label - b.label);
}

/** The run's samples, else its parent's (a study's trial shows its study run's); `from` is the run that holds them. */
async function samplesOf(runId: string, parentRunId: string | undefined): Promise<{ classes: SampleClass[]; from: string }> {
  const own = await runSamples(runId);
  if (own || !parentRunId) return { classes: own ?? [], from: runId };
  return { classes: (await runSamples(parentRunId)) ?? [], from: parentRunId };
}

function Samples({ runId, parentRunId, data }: { runId: string; parentRunId?: string; data: ReadDataset }) {
  const [ref, seen] = useSeen();
  const [found, setFound] = useState<{ classes?: SampleClass[]; from?: string; error?: string }>({});
  useEffect(() => {
    if (!seen) return;
    let live = true;
    samplesOf(runId, parentRunId).then(
      (s) => live && setFound(s),
      (error: unknown) => live && setFound({ error: error instanceof Error ? error.message : String(error) }),
    );
    return () => {
      live = false;
    };
  }, [seen, runId, parentRunId]);
  const image = data.schema?.image ?? { height: 28, width: 28 };
  const scale = Math.max(1, Math.floor(SAMPLE_DISPLAY / Math.max(image.height, image.width)));
  const loading = !found.classes && !found.error;
  return (
    <div class="dataset-samples" ref={ref} aria-label="sample images per class" aria-busy={seen && loading ? 'true' : 'false'}>
      <h3>
        Samples{' '}
        {found.from && found.from !== runId && found.classes?.length ? (
          <span class="muted" data-testid="samples-from">
            logged with the <a href={href(['runs', found.from])}>study run</a>
          </span>
        ) : null}
      </h3>
      {loading && <p class="muted">Loading samples…</p>}
      {found.classes?.length === 0 && <p class="muted">No sample images were logged with this run.</p>}
      {found.classes?.map((c) => {
        const name = data.schema?.class_names[c.label] ?? c.folder;
        return (
          <div class="sample-row" data-samples={c.folder} key={c.folder}>
            <div class="sample-class">{name}</div>
            <div class="sample-images">
              {c.urls.map((url, n) => (
                <img src={url} alt={`${name} sample ${n}`} loading="lazy" width={image.width * scale} height={image.height * scale} />
              ))}
            </div>
          </div>
        );
      })}
      <ErrorBox error={found.error} />
    </div>
  );
}

function Details({ runId, parentRunId, data, withSamples }: { runId: string; parentRunId?: string; data: ReadDataset; withSamples: boolean }) {
  const image = data.schema?.image;
  return (
    <div class="dataset" data-dataset={data.name}>
      <h3>{data.name}</h3>
      <dl class="facts">
        <dt>Digest</dt>
        <dd class="mono wrap">{data.profile?.digest ?? data.digest}</dd>
        <dt>Source</dt>
        <dd class="mono wrap">
          {data.source} <span class="muted">({data.profile?.source_type ?? data.sourceType})</span>
        </dd>
        {image && (
          <>
            <dt>Schema</dt>
            <dd data-testid="dataset-schema">
              {image.height} x {image.width} x {image.channels}, {image.color} · {data.schema?.class_names.length} classes
            </dd>
          </>
        )}
        {data.profile && (
          <>
            <dt>Items</dt>
            <dd>{fmtCount(data.profile.num_items)}</dd>
          </>
        )}
      </dl>
      <Counts data={data} />
      {withSamples && <Samples runId={runId} parentRunId={parentRunId} data={data} />}
    </div>
  );
}

export function DatasetSection({ runId, parentRunId, inputs }: { runId: string; parentRunId?: string; inputs: DatasetInput[] }) {
  if (inputs.length === 0) return null;
  const datasets = inputs.map((d) => readDataset(d.dataset));
  // Samples belong to the run, not to an input: shown under the first input Kiln described.
  const described = datasets.findIndex((d) => d.schema !== undefined && d.profile !== undefined);
  return (
    <Section title="Dataset" id="datasets">
      <table class="grid">
        <thead>
          <tr>
            <th>Name</th>
            <th>Digest</th>
            <th>Source</th>
            <th>Context</th>
          </tr>
        </thead>
        <tbody>
          {inputs.map((d, i) => (
            <tr>
              <td>{d.dataset.name}</td>
              <td class="mono">{d.dataset.digest}</td>
              <td class="mono wrap">
                {d.dataset.source_type}: {datasets[i].source}
              </td>
              <td>{d.tags.map((t) => `${t.key}=${t.value}`).join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {datasets.map((data, i) => (data.schema || data.profile ? <Details runId={runId} parentRunId={parentRunId} data={data} withSamples={i === described} /> : null))}
    </Section>
  );
}
