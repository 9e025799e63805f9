/**
 * bench/photo — `npm run bench:photo`: how well a served model classifies photos of the items it
 * knows, next to its accuracy on the original 28x28 images.
 *
 * N canonical **test** images (default 1,000: test images 0..N-1) are rendered as shop and phone
 * photos in every style of bench/photo/render (studio, off-white backdrop, small JPEG, rotated
 * WebP, EXIF-rotated phone JPEG, transparent cut-out), sent over HTTP to a running `kiln serve`
 * (POST /predict, raw image body) and scored per style; the same images as the original 28x28
 * PNGs give the reference accuracy. The photos are also sent once with `?preprocess=dataset`
 * (the behaviour before the photo path: the picture shrunk as it is) for comparison.
 *
 * Models: an MLP and a CNN trained here with `kiln train` (seed 42), or the folders given in
 * BENCH_PHOTO_MODELS=name=folder,name=folder. Tuning the photo path happens on validation
 * images, never on these: BENCH_PHOTO_SPLIT=val renders images of the seeded validation split
 * instead (the 5,000 training images the models never trained on).
 * BENCH_PHOTO_SWEEP=1 (with BENCH_PHOTO_SPLIT=val and BENCH_PHOTO_MODELS) scores a grid of the
 * photo path's settings (serve/photo PhotoSettings) in-process instead: how the defaults were chosen.
 * Options (env): BENCH_PHOTO_IMAGES (1000), BENCH_PHOTO_SPLIT (test|val), BENCH_PHOTO_MODELS,
 * BENCH_PHOTO_CONCURRENCY (8), BENCH_PHOTO_MLP_EPOCHS (10), BENCH_PHOTO_CNN_EPOCHS (4).
 * Human lines go to stderr; the last stdout line is one JSON object. Target (issue 11): photo
 * accuracy >= 0.95 x the 28x28 accuracy, for the MLP and the CNN.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { obtainFile, splitIndices } from '../src/data/index.js';
import { loadServedModel } from '../src/serve/model.js';
import { type PhotoSettings, photoToDataset } from '../src/serve/photo.js';
import { decodeRaster, normalizePixels } from '../src/serve/preprocess.js';
import { PHOTO_STYLES, type PhotoStyle, renderPhoto } from './photo/render.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KILN = join(ROOT, 'bin/kiln.js');
const TARGET_RATIO = 0.95;

const env = (name: string, fallback: string): string => process.env[name] || fallback;
const IMAGES = Number(env('BENCH_PHOTO_IMAGES', '1000'));
const SPLIT = env('BENCH_PHOTO_SPLIT', 'test');
const CONCURRENCY = Number(env('BENCH_PHOTO_CONCURRENCY', '8'));
const log = (message: string): void => void console.error(message);
const round = (x: number, digits = 4): number => Number(x.toFixed(digits));

interface Sample {
  index: number;
  label: number;
  pixels: Uint8Array;
}

/**
 * The images to render: test images 0..n-1, or the first n of the seed-42 validation split
 * (the images `kiln train --seed 42` validates on and never trains on).
 */
async function samples(split: string, n: number): Promise<Sample[]> {
  if (split !== 'test' && split !== 'val') throw new Error(`BENCH_PHOTO_SPLIT must be test or val, got ${split}`);
  const prefix = split === 'test' ? 't10k' : 'train';
  // Found and verified like training finds them (Debian package, $KILN_DATA_DIR, cache).
  const [images, labels] = await Promise.all([obtainFile(`${prefix}-images-idx3-ubyte`), obtainFile(`${prefix}-labels-idx1-ubyte`)]);
  const indices = split === 'test' ? Array.from({ length: n }, (_, i) => i) : Array.from(splitIndices(images.idx.count, 5000, 42).validationIndices.slice(0, n));
  return indices.map((index) => ({ index, label: labels.idx.data[index]!, pixels: images.idx.data.subarray(index * 784, (index + 1) * 784) }));
}

function train(kind: 'mlp' | 'cnn', out: string, home: string): void {
  const epochs = kind === 'mlp' ? env('BENCH_PHOTO_MLP_EPOCHS', '10') : env('BENCH_PHOTO_CNN_EPOCHS', '4');
  const shape = kind === 'mlp' ? ['--layers', '256,128', '--dropout', '0.2'] : ['--conv', '32,64', '--dense', '128'];
  log(`bench:photo: training the ${kind} (${epochs} epochs, seed 42)`);
  const result = spawnSync(process.execPath, [KILN, 'train', '--model', kind, ...shape, '--epochs', epochs, '--seed', '42', '--out', out, '--home', home, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`kiln train --model ${kind} failed (exit ${result.status})`);
}

interface Server {
  port: number;
  child: ChildProcess;
}

async function startServer(folder: string, home: string): Promise<Server> {
  const child = spawn(process.execPath, [KILN, 'serve', '--model-uri', folder, '--port', '0', '--home', home], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = /listening (?:at|on) http:\/\/[^:]+:(\d+)/i.exec(output) ?? /127\.0\.0\.1:(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`kiln serve exited (${code}): ${output.slice(-2000)}`)));
  });
  for (let tries = 0; tries < 600; tries++) {
    const ready = await send(port, '/ready', null, '').catch(() => null);
    if (ready?.status === 200) return { port, child };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGTERM');
  throw new Error(`kiln serve on ${port} never became ready: ${output.slice(-2000)}`);
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function send(port: number, path: string, body: Buffer | null, contentType: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: body ? 'POST' : 'GET', agent, headers: body ? { 'content-type': contentType, 'content-length': body.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

interface Upload {
  label: number;
  bytes: Buffer;
  contentType: string;
}

interface Score {
  accuracy: number;
  photo_path: number;
  errors: number;
}

/** Sends every upload to /predict (CONCURRENCY at a time) and scores the answers. */
async function score(port: number, uploads: Upload[], query = ''): Promise<Score> {
  let next = 0;
  let correct = 0;
  let photoPath = 0;
  let errors = 0;
  const worker = async (): Promise<void> => {
    while (next < uploads.length) {
      const upload = uploads[next++]!;
      const answer = await send(port, `/predict${query}`, upload.bytes, upload.contentType);
      if (answer.status !== 200) {
        errors++;
        continue;
      }
      if (answer.json.class_id === upload.label) correct++;
      if (answer.json.preprocessing === 'photo') photoPath++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, () => worker()));
  return { accuracy: round(correct / uploads.length), photo_path: round(photoPath / uploads.length), errors };
}

async function render(list: Sample[]): Promise<{ originals: Upload[]; photos: Record<PhotoStyle, Upload[]> }> {
  const originals = await Promise.all(
    list.map(async (s) => ({ label: s.label, contentType: 'image/png', bytes: await sharp(Buffer.from(s.pixels), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer() })),
  );
  const photos = {} as Record<PhotoStyle, Upload[]>;
  for (const [k, style] of PHOTO_STYLES.entries()) {
    photos[style] = [];
    for (const s of list) {
      const photo = await renderPhoto(s.pixels, style, s.index * 16 + k + (SPLIT === 'val' ? 7_000_000 : 0));
      photos[style].push({ label: s.label, bytes: photo.bytes, contentType: photo.contentType });
    }
  }
  return { originals, photos };
}

/** Scores a grid of photo settings in-process (no HTTP): the tuning loop, for validation images only. */
async function sweep(models: [string, string][], photos: Record<PhotoStyle, Upload[]>): Promise<void> {
  if (SPLIT !== 'val') throw new Error('BENCH_PHOTO_SWEEP tunes the photo path: it runs on BENCH_PHOTO_SPLIT=val only, never on the test set');
  const rasters = await Promise.all(PHOTO_STYLES.map((style) => Promise.all(photos[style].map((u) => decodeRaster(u.bytes, 112)))));
  const grid: PhotoSettings[] = [];
  for (const trimThreshold of [12, 24, 40]) for (const sharpen of [0, 0.5, 1, 1.5]) grid.push({ trimThreshold, sharpen });
  const rows: Record<string, unknown>[] = [];
  for (const [name, folder] of models) {
    const served = await loadServedModel(folder);
    for (const settings of grid) {
      const perStyle: Record<string, number> = {};
      for (const [k, style] of PHOTO_STYLES.entries()) {
        const list = rasters[k]!;
        const input = new Float32Array(list.length * 784);
        list.forEach((raster, i) => normalizePixels(photoToDataset(raster, [28, 28], settings), served.metadata.preprocessing, input, i * 784));
        const probs = await served.predictor.predict(input, list.length);
        let correct = 0;
        for (let i = 0; i < list.length; i++) {
          let best = 0;
          for (let c = 1; c < served.predictor.classes; c++) if (probs[i * served.predictor.classes + c]! > probs[i * served.predictor.classes + best]!) best = c;
          if (best === photos[style][i]!.label) correct++;
        }
        perStyle[style] = round(correct / list.length);
      }
      const mean = round(Object.values(perStyle).reduce((a, b) => a + b, 0) / PHOTO_STYLES.length);
      log(`sweep ${name} ${JSON.stringify(settings)} mean ${mean} ${JSON.stringify(perStyle)}`);
      rows.push({ model: name, ...settings, mean, per_style: perStyle });
    }
    await served.predictor.dispose();
  }
  console.log(JSON.stringify({ bench: 'photo-sweep', split: SPLIT, images: photos.studio.length, rows }));
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'kiln-bench-photo-'));
  try {
    const list = await samples(SPLIT, IMAGES);
    log(`bench:photo: rendering ${list.length} ${SPLIT} images in ${PHOTO_STYLES.length} styles`);
    const { originals, photos } = await render(list);
    const models: [string, string][] = process.env.BENCH_PHOTO_MODELS
      ? process.env.BENCH_PHOTO_MODELS.split(',').map((pair) => pair.split('=') as [string, string])
      : (['mlp', 'cnn'] as const).map((kind) => {
          const folder = join(work, kind);
          train(kind, folder, join(work, 'home'));
          return [kind, folder];
        });
    if (process.env.BENCH_PHOTO_SWEEP === '1') return await sweep(models, photos);
    const results: Record<string, unknown> = {};
    for (const [name, folder] of models) {
      const server = await startServer(folder, join(work, 'home'));
      try {
        const reference = await score(server.port, originals);
        const styles: Record<string, Score> = {};
        const before: Record<string, number> = {};
        for (const style of PHOTO_STYLES) {
          styles[style] = await score(server.port, photos[style]);
          before[style] = (await score(server.port, photos[style], '?preprocess=dataset')).accuracy;
        }
        const all = PHOTO_STYLES.map((style) => styles[style]!.accuracy);
        const photoAccuracy = round(all.reduce((a, b) => a + b, 0) / all.length);
        const ratio = round(photoAccuracy / reference.accuracy);
        log(`bench:photo: ${name}: 28x28 ${reference.accuracy}, photos ${photoAccuracy} (ratio ${ratio}, target >= ${TARGET_RATIO}); dataset path on photos ${JSON.stringify(before)}`);
        for (const style of PHOTO_STYLES) log(`  ${style.padEnd(13)} ${JSON.stringify(styles[style])}`);
        results[name] = {
          accuracy_28x28: reference.accuracy,
          photo_accuracy: photoAccuracy,
          ratio,
          target_met: ratio >= TARGET_RATIO,
          per_style: styles,
          dataset_path_on_photos: before,
          errors: reference.errors + Object.values(styles).reduce((a, s) => a + s.errors, 0),
        };
      } finally {
        server.child.kill('SIGTERM');
      }
    }
    agent.destroy();
    console.log(JSON.stringify({ bench: 'photo', split: SPLIT, images: list.length, styles: PHOTO_STYLES, target_ratio: TARGET_RATIO, models: results }));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
