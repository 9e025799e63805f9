/**
 * bench/data — `npm run bench:data`: how fast Kiln turns a folder of images into tensors, the
 * first time (decode) and every later time (cache), next to Pillow + NumPy on the same folder.
 *
 * The 60,000 Fashion-MNIST training images (verified like training finds them: the Debian
 * package, $KILN_DATA_DIR or the cache) are written once as PNG class folders under the system
 * temp dir (kiln-bench-data-fashion-mnist-png; reused while complete), the page cache is warmed
 * by reading every file, then, in one run:
 *   pillow      bench/data/pillow_baseline.py: list, Image.open, convert('L'), np.asarray, np.stack;
 *   first       Kiln: list the folder into a catalog, then materialize (data/materialize) with an
 *               empty cache: read, hash and decode every file, write the cache;
 *   cached      the same listing and materialize again: stats + one cache file;
 *   normalize   the float32 conversion training applies after loading, reported on its own.
 * The same is repeated on a folder of the first 10,000 images (hard links; cached load target:
 * well under 1 s). The
 * pixels are checked equal to Pillow's (CRC-32 of the stacked array).
 * Options (env): BENCH_DATA_IMAGES (60000), BENCH_DATA_DIR (the PNG folder).
 * Human lines go to stderr; the last stdout line is one JSON object. Targets (issue 12):
 * first decode >= 2x Pillow's images/s; cached load >= 50x faster than the first decode.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { obtainFile } from '../src/data/index.js';
import type { Catalog, CatalogItem, DecodeTarget } from '../src/data/labelled.js';
import { materialize } from '../src/data/materialize.js';
import { statListing } from '../src/data/tensor-cache.js';
import { CLASS_NAMES, FASHION_MNIST_MEAN, FASHION_MNIST_STD } from '../src/data/normalize.js';

const HERE = fileURLToPath(new URL('../../bench/data/', import.meta.url));
const IMAGES = Number(process.env.BENCH_DATA_IMAGES || 60000);
const FOLDER = process.env.BENCH_DATA_DIR || join(tmpdir(), 'kiln-bench-data-fashion-mnist-png');
const SMALL = 10000;
const TARGET: DecodeTarget = { height: 28, width: 28, channels: 1 };
const TARGET_FIRST_VS_PILLOW = 2;
const TARGET_CACHED_VS_FIRST = 50;
const log = (message: string): void => void console.error(message);
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));
const loadavg1 = (): number => round(loadavg()[0]!, 2);
const seconds = (start: number): number => (performance.now() - start) / 1000;

/** Folder names: label order = sorted order, and no '/' (T-shirt/top). */
const classFolder = (label: number): string => `${label}_${CLASS_NAMES[label]!.replace(/[^A-Za-z0-9-]+/g, '_')}`;

/** Writes the training images as <folder>/<class>/<index>.png (with sharp, as a user's tool would), once. */
async function writeFolder(): Promise<void> {
  const marker = join(FOLDER, '.complete');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === String(IMAGES)) {
    log(`bench:data: reusing ${FOLDER}`);
    return;
  }
  const [images, labels] = await Promise.all([obtainFile('train-images-idx3-ubyte'), obtainFile('train-labels-idx1-ubyte')]);
  rmSync(FOLDER, { recursive: true, force: true }); // a partial or differently sized folder
  log(`bench:data: writing ${IMAGES} PNGs under ${FOLDER} (once; reused by later runs)`);
  for (let label = 0; label < CLASS_NAMES.length; label++) mkdirSync(join(FOLDER, classFolder(label)), { recursive: true });
  let next = 0;
  const writeOne = async (): Promise<void> => {
    for (let i = next++; i < IMAGES; i = next++) {
      const pixels = images.idx.data.subarray(i * 784, (i + 1) * 784);
      await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(FOLDER, classFolder(labels.idx.data[i]!), `${String(i).padStart(5, '0')}.png`));
    }
  };
  await Promise.all(Array.from({ length: 8 }, writeOne));
  writeFileSync(marker, String(IMAGES));
}

/** The folder's catalog: classes and files sorted (label = class position), like the Python baseline. */
function listCatalog(folder: string): Catalog {
  const classes = readdirSync(folder, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const items: CatalogItem[] = [];
  classes.forEach((name, label) => {
    for (const file of readdirSync(join(folder, name)).sort()) items.push({ path: join(folder, name, file), relPath: `${name}/${file}`, label });
  });
  return { name: basename(folder), source: folder, root: folder, sourceType: 'folder', classNames: classes, items, warnings: [] };
}

/** A folder of the first `count` images (hard links, each class keeping its share), so listing it costs what a folder that size costs. */
function subsetFolder(count: number): string {
  const folder = `${FOLDER}-${count}`;
  const marker = join(folder, '.complete');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === String(count)) return folder;
  rmSync(folder, { recursive: true, force: true });
  const all = listCatalog(FOLDER).items;
  const keep = all.filter((item) => Number(basename(item.relPath, '.png')) < count);
  for (const item of keep) {
    mkdirSync(join(folder, dirname(item.relPath)), { recursive: true });
    linkSync(item.path, join(folder, item.relPath));
  }
  writeFileSync(marker, String(count));
  return folder;
}

function warmPageCache(catalog: Catalog): void {
  for (const item of catalog.items) readFileSync(item.path);
}

interface Baseline {
  images: number;
  seconds: number;
  crc32: number;
}

function pillow(folder: string): Baseline {
  const run = spawnSync('/usr/bin/python3', [join(HERE, 'pillow_baseline.py'), folder], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (run.status !== 0) throw new Error(`the Pillow baseline failed (exit ${run.status}); run scripts/setup-bench.sh (python3-pil, python3-numpy)`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as Baseline;
}

/** First decode (empty cache) and cached load of `folder`, plus normalization. */
async function kiln(folder: string): Promise<Record<string, number | boolean>> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'kiln-bench-data-cache-'));
  try {
    const load = async (): Promise<{ s: number; fromCache: boolean; pixels: Uint8Array }> => {
      const start = performance.now();
      const result = await materialize(listCatalog(folder), TARGET, { cacheDir, progress: process.stderr, log });
      return { s: seconds(start), fromCache: result.fromCache, pixels: result.pixels };
    };
    const first = await load();
    const cached = await load();
    // Where the cached load's time goes: the listing, then the stats of the fingerprint.
    let start = performance.now();
    const catalog = listCatalog(folder);
    const listS = seconds(start);
    start = performance.now();
    statListing(catalog.items);
    const statS = seconds(start);
    if (first.fromCache || !cached.fromCache) throw new Error('bench:data: expected a first decode, then a cache hit');
    start = performance.now();
    const table = new Float32Array(256).map((_, v) => (v / 255 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD);
    const floats = new Float32Array(cached.pixels.length);
    for (let i = 0; i < floats.length; i++) floats[i] = table[cached.pixels[i]!]!;
    const normalizeS = seconds(start);
    const images = cached.pixels.length / 784;
    return {
      images,
      first_s: round(first.s),
      first_images_per_s: Math.round(images / first.s),
      cached_s: round(cached.s, 4),
      cached_images_per_s: Math.round(images / cached.s),
      cached_listing_s: round(listS, 4),
      cached_fingerprint_stats_s: round(statS, 4),
      normalize_float32_s: round(normalizeS, 4),
      crc32: crc32(cached.pixels),
      same_pixels_first_and_cached: crc32(first.pixels) === crc32(cached.pixels),
    };
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await writeFolder();
  const folders: [number, string][] = [[IMAGES, FOLDER]];
  if (IMAGES > SMALL) folders.push([SMALL, subsetFolder(SMALL)]);
  log(`bench:data: warming the page cache`);
  for (const [, folder] of folders) warmPageCache(listCatalog(folder));
  const results: Record<string, unknown> = {};
  for (const [count, folder] of folders) {
    log(`bench:data: ${count} images: Pillow + NumPy`);
    const base = pillow(folder);
    log(`bench:data: ${count} images: Kiln`);
    const k = await kiln(folder);
    if (base.images !== k.images) throw new Error(`bench:data: Pillow loaded ${base.images} images, Kiln ${k.images}`);
    const pillowRate = Math.round(base.images / base.seconds);
    const firstVsPillow = round((k.first_images_per_s as number) / pillowRate, 2);
    const cachedVsFirst = round((k.first_s as number) / (k.cached_s as number), 1);
    results[String(count)] = {
      pillow_images_per_s: pillowRate,
      pillow_s: round(base.seconds),
      kiln_first_images_per_s: k.first_images_per_s,
      kiln_first_s: k.first_s,
      first_decode_vs_pillow: firstVsPillow,
      first_decode_vs_pillow_target: TARGET_FIRST_VS_PILLOW,
      kiln_cached_images_per_s: k.cached_images_per_s,
      kiln_cached_s: k.cached_s,
      kiln_cached_listing_s: k.cached_listing_s,
      kiln_cached_stats_s: k.cached_fingerprint_stats_s,
      cached_vs_first: cachedVsFirst,
      cached_vs_first_target: TARGET_CACHED_VS_FIRST,
      normalize_float32_s: k.normalize_float32_s,
      same_pixels_as_pillow: base.crc32 === k.crc32,
      targets_met: firstVsPillow >= TARGET_FIRST_VS_PILLOW && cachedVsFirst >= TARGET_CACHED_VS_FIRST,
    };
    log(`bench:data: ${count}: ${JSON.stringify(results[String(count)])}`);
  }
  const loadavg = loadavg1();
  console.log(JSON.stringify({ bench: 'data', folder: FOLDER, images: IMAGES, cores: availableParallelism(), loadavg_1m_at_end: loadavg, timing: 'listing included; page cache warm', results }));
}

await main();
