/**
 * ui/app/dataset — a run's dataset section: each dataset input (name, digest, source, the input
 * tags), and for Kiln's inputs the image schema, the items per class and split, and a grid of
 * the sample images per class the trainer logged under `dataset/samples/` (listed once the
 * section scrolls into view; the images load lazily). A study's trials show the samples their
 * parent (study) run holds: the trials train on its dataset, and logging them once is enough.
 *
 * Inputs logged by other tools show the summary row only; a run without inputs shows nothing.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { DATASET_SPLITS, readDataset, type ReadDataset } from '../../tracking/dataset-json.js';
import type { DatasetInput } from '../../tracking/store/types.js';
import { api } from './api.js';
import { href } from './router.js';
import { ErrorBox, Section, useLoad } from './util.js';

const SAMPLES_DIR = 'dataset/samples';
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

function ClassSamples({ runId, folder, name, size }: { runId: string; folder: string; name: string; size: { width: number; height: number } }) {
  const listing = useLoad(() => api.listArtifacts(runId, folder), [runId, folder]);
  const files = (listing.data?.files ?? []).filter((f) => !f.is_dir && /\.png$/i.test(f.path));
  // 0.png … 10.png in number order, not text order.
  const number = (path: string): number => Number(path.slice(path.lastIndexOf('/') + 1).replace(/\.png$/i, ''));
  files.sort((a, b) => number(a.path) - number(b.path));
  return (
    <div class="sample-row" data-samples={folder.slice(SAMPLES_DIR.length + 1)}>
      <div class="sample-class">{name}</div>
      <div class="sample-images">
        {listing.data &&
          files.map((f) => (
            <img src={api.artifactUrl(listing.data!.root, f.path)} alt={`${name} sample ${number(f.path)}`} loading="lazy" width={size.width} height={size.height} />
          ))}
        <ErrorBox error={listing.error} />
      </div>
    </div>
  );
}

/** The run's sample folders, else its parent's; `from` is the run that holds them. */
async function sampleFolders(runId: string, parentRunId: string | undefined): Promise<{ folders: string[]; from: string }> {
  const list = async (id: string): Promise<string[]> => (await api.listArtifacts(id, SAMPLES_DIR)).files.filter((f) => f.is_dir).map((f) => f.path);
  const own = await list(runId);
  if (own.length > 0 || !parentRunId) return { folders: own, from: runId };
  return { folders: await list(parentRunId), from: parentRunId };
}

function Samples({ runId, parentRunId, data }: { runId: string; parentRunId?: string; data: ReadDataset }) {
  const [ref, seen] = useSeen();
  const [listing, setListing] = useState<{ folders?: string[]; from?: string; error?: string }>({});
  useEffect(() => {
    if (!seen) return;
    let live = true;
    sampleFolders(runId, parentRunId).then(
      (l) => live && setListing(l),
      (error: unknown) => live && setListing({ error: error instanceof Error ? error.message : String(error) }),
    );
    return () => {
      live = false;
    };
  }, [seen, runId, parentRunId]);
  const image = data.schema?.image ?? { height: 28, width: 28 };
  const scale = Math.max(1, Math.floor(SAMPLE_DISPLAY / Math.max(image.height, image.width)));
  const size = { width: image.width * scale, height: image.height * scale };
  const label = (folder: string): number => Number.parseInt(folder.slice(SAMPLES_DIR.length + 1), 10);
  const folders = (listing.folders ?? []).slice().sort((a, b) => label(a) - label(b));
  return (
    <div class="dataset-samples" ref={ref} aria-label="sample images per class" aria-busy={seen && !listing.folders && !listing.error ? 'true' : 'false'}>
      <h3>
        Samples{' '}
        {listing.from && listing.from !== runId && listing.folders?.length ? (
          <span class="muted" data-testid="samples-from">
            logged with the <a href={href(['runs', listing.from])}>study run</a>
          </span>
        ) : null}
      </h3>
      {!seen || (!listing.folders && !listing.error) ? <p class="muted">Loading samples…</p> : null}
      {listing.folders?.length === 0 && <p class="muted">No sample images were logged with this run.</p>}
      {folders.map((folder) => (
        <ClassSamples runId={listing.from ?? runId} folder={folder} name={data.schema?.class_names[label(folder)] ?? folder.slice(SAMPLES_DIR.length + 1)} size={size} key={folder} />
      ))}
      <ErrorBox error={listing.error} />
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
