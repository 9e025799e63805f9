/**
 * bench/data — `npm run bench:data`: how fast Kiln turns a folder of images into tensors, the
 * first time (decode) and every later time (cache), next to Pillow + NumPy on the same folder.
 *
 * The 60,000 Fashion-MNIST training images (verified like training finds them: the Debian
 * package, $KILN_DATA_DIR or the cache) are written once as PNG class folders under the system
 * temp dir (kiln-bench-data-fashion-mnist-png; reused while complete), the page cache is warmed
 * by reading every file, then, in one run:
 *   pillow      bench/data/pillow_baseline.py: list, Image.open, convert('L'), np.asarray, np.stack;
 *   first       Kiln: the folder's catalog (data/catalog-folder: listing, every file sniffed), then
 *               materialize (data/materialize) with an empty cache: read, hash and decode every
 *               file, write the cache;
 *   loadDataset the whole user path (catalog, inferred size and colour, materialize, split,
 *               normalize) into a fresh home, first and cached;
 *   cached      what a cached loadDataset does up to the 8-bit pixels with the default check
 *               (--data-cache files): the listing (folders read, no file opened:
 *               data/source-listing), one stat per file and the tensor file (data/load-cache);
 *               its listing and stats are also timed on their own;
 *   cached by folder stamps   the same with --data-cache folders: one stat per folder and the
 *               tensor file, nothing listed; timed in a fresh process each time (the next run),
 *               the median of nine (bench/data/cached-load);
 *   catalog + materialize cached   the full path on a cache hit (every file sniffed, then the
 *               tensor cache), what a load costs when data/load-cache has no record;
 *   normalize   the float32 conversion training applies after loading, reported on its own.
 * The same is repeated on a folder of the first 10,000 images (hard links; cached load target:
 * well under 1 s). The pixels are checked equal to Pillow's (CRC-32 of the stacked array).
 * Options (env): BENCH_DATA_IMAGES (60000), BENCH_DATA_DIR (the PNG folder).
 * Human lines go to stderr; the last stdout line is one JSON object. Targets (issue 12):
 * first decode >= 2x Pillow's images/s; cached load >= 50x faster than the first decode, met
 * by the folder-stamp check and reported for both checks.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { obtainFile } from '../src/data/index.js';
import type { Catalog, CatalogItem, DecodeTarget } from '../src/data/labelled.js';
import { catalogFolder } from '../src/data/catalog-folder.js';
import { loadDataset } from '../src/data/load.js';
import { materialize } from '../src/data/materialize.js';
import { listSource, statItems } from '../src/data/source-listing.js';
import { lookupLoad } from '../src/data/load-cache.js';
import { STAMP_SETTLE_MS } from '../src/data/source-listing.js';
import { setTimeout as sleep } from 'node:timers/promises';
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
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const STAMP_RUNS = 9;

/** Folder names: label order = sorted order, and no '/' (T-shirt/top). */
const classFolder = (label: number): string => `${label}_${CLASS_NAMES[label]!.replace(/[^A-Za-z0-9-]+/g, '_')}`;

/** Writes the training images as <folder>/<class>/<index>.png (gray, with sharp), once. */
async function writeFolder(): Promise<void> {
  const marker = join(FOLDER, '.complete');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === `${IMAGES} gray`) {
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
      // 8-bit gray PNGs, as Pillow's Image.fromarray(x).save() writes them (sharp alone would write RGB).
      await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).toColourspace('b-w').png().toFile(join(FOLDER, classFolder(labels.idx.data[i]!), `${String(i).padStart(5, '0')}.png`));
    }
  };
  await Promise.all(Array.from({ length: 8 }, writeOne));
  writeFileSync(marker, `${IMAGES} gray`);
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
  // Tied to the full folder's version: a rewritten full folder gets new links.
  const version = `${count} of ${statSync(join(FOLDER, '.complete')).mtimeMs}`;
  if (existsSync(marker) && readFileSync(marker, 'utf8') === version) return folder;
  rmSync(folder, { recursive: true, force: true });
  const all = listCatalog(FOLDER).items;
  const keep = all.filter((item) => Number(basename(item.relPath, '.png')) < count);
  for (const item of keep) {
    mkdirSync(join(folder, dirname(item.relPath)), { recursive: true });
    linkSync(item.path, join(folder, item.relPath));
  }
  writeFileSync(marker, version);
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

/**
 * First decode (empty cache) of `folder` (catalog by data/catalog-folder, as loadDataset lists a
 * folder, then materialize), the whole user path, loadDataset, first and cached, the cached load
 * up to the pixels and its parts, the full path on a tensor-cache hit, and the float32
 * normalization on its own.
 */
async function kiln(folder: string): Promise<Record<string, number | boolean>> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'kiln-bench-data-cache-'));
  const home = await mkdtemp(join(tmpdir(), 'kiln-bench-data-home-'));
  try {
    const full = async (): Promise<{ s: number; catalogS: number; fromCache: boolean; pixels: Uint8Array }> => {
      const start = performance.now();
      const catalog = await catalogFolder(folder);
      const catalogS = seconds(start);
      const result = await materialize(catalog, TARGET, { cacheDir, progress: process.stderr, log });
      return { s: seconds(start), catalogS, fromCache: result.fromCache, pixels: result.pixels };
    };
    const first = await full();
    const fullCached = await full();
    if (first.fromCache || !fullCached.fromCache) throw new Error('bench:data: expected a first decode, then a tensor-cache hit');
    const userPath = async (): Promise<number> => {
      const begin = performance.now();
      await loadDataset({ data: folder, home, log: () => undefined });
      return seconds(begin);
    };
    const userFirst = await userPath();
    const userCached = await userPath();
    const userStampsStart = performance.now();
    await loadDataset({ data: folder, home, cache: 'folders', log: () => undefined });
    const userStamps = seconds(userStampsStart);
    const stampRuns = Array.from({ length: STAMP_RUNS }, () => cachedByStamps(join(home, 'cache', 'datasets'), folder));
    // The cached load up to the pixels, as loadDataset does it, then its parts on their own.
    let start = performance.now();
    const listing = await listSource({ kind: 'folder', path: folder });
    const { hit } = await lookupLoad(join(home, 'cache', 'datasets'), listing, {});
    const cachedS = seconds(start);
    if (!hit) throw new Error('bench:data: expected data/load-cache to hit after loadDataset');
    start = performance.now();
    await listSource({ kind: 'folder', path: folder });
    const listingS = seconds(start);
    start = performance.now();
    statItems(listing.items);
    const statS = seconds(start);
    start = performance.now();
    const table = new Float32Array(256).map((_, v) => (v / 255 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD);
    const floats = new Float32Array(hit.pixels.length);
    for (let i = 0; i < floats.length; i++) floats[i] = table[hit.pixels[i]!]!;
    const normalizeS = seconds(start);
    const images = hit.pixels.length / 784;
    return {
      images,
      first_s: round(first.s),
      first_images_per_s: Math.round(images / first.s),
      cached_s: round(cachedS, 4),
      cached_images_per_s: Math.round(images / cachedS),
      cached_listing_s: round(listingS, 4),
      cached_stats_s: round(statS, 4),
      catalog_materialize_cached_s: round(fullCached.s, 4),
      catalog_sniff_cached_s: round(fullCached.catalogS, 4),
      normalize_float32_s: round(normalizeS, 4),
      load_dataset_first_s: round(userFirst),
      load_dataset_cached_s: round(userCached, 4),
      load_dataset_cached_folders_s: round(userStamps, 4),
      stamps_s: round(median(stampRuns.map((r) => r.seconds)), 4),
      stamps_min_s: round(Math.min(...stampRuns.map((r) => r.seconds)), 4),
      stamps_max_s: round(Math.max(...stampRuns.map((r) => r.seconds)), 4),
      crc32: crc32(hit.pixels),
      same_pixels_first_and_cached: crc32(first.pixels) === crc32(hit.pixels) && crc32(fullCached.pixels) === crc32(hit.pixels) && stampRuns.every((r) => r.crc32 === crc32(hit.pixels) && r.images === images),
    };
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
    await rm(home, { recursive: true, force: true });
  }
}

/** One load by folder stamps in a fresh process (bench/data/cached-load). */
function cachedByStamps(cacheDir: string, folder: string): { seconds: number; images: number; crc32: number } {
  const run = spawnSync(process.execPath, [fileURLToPath(new URL('./data/cached-load.js', import.meta.url)), cacheDir, folder], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (run.status !== 0) throw new Error(`bench:data: the cached load by folder stamps failed (exit ${run.status})`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as { seconds: number; images: number; crc32: number };
}

/** Folder stamps count only once the folders were left alone STAMP_SETTLE_MS before a listing (data/source-listing): waits for a folder just written. */
async function settle(folders: string[]): Promise<void> {
  const changed = Math.max(...folders.flatMap((folder) => [folder, ...readdirSync(folder, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(folder, e.name))]).map((dir) => statSync(dir).ctimeMs));
  const wait = changed + STAMP_SETTLE_MS + 100 - Date.now();
  if (wait > 0) {
    log(`bench:data: waiting ${Math.ceil(wait / 1000)} s for the folders to settle (folder stamps)`);
    await sleep(wait);
  }
}

async function main(): Promise<void> {
  await writeFolder();
  const folders: [number, string][] = [[IMAGES, FOLDER]];
  if (IMAGES > SMALL) folders.push([SMALL, subsetFolder(SMALL)]);
  await settle(folders.map(([, folder]) => folder));
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
    const stampsVsFirst = round((k.first_s as number) / (k.stamps_s as number), 1);
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
      kiln_cached_stats_s: k.cached_stats_s,
      kiln_catalog_materialize_cached_s: k.catalog_materialize_cached_s,
      kiln_catalog_sniff_cached_s: k.catalog_sniff_cached_s,
      cached_vs_first: cachedVsFirst,
      kiln_cached_folders_s: k.stamps_s,
      kiln_cached_folders_min_s: k.stamps_min_s,
      kiln_cached_folders_max_s: k.stamps_max_s,
      kiln_cached_folders_images_per_s: Math.round(count / (k.stamps_s as number)),
      cached_folders_vs_first: stampsVsFirst,
      cached_vs_first_target: TARGET_CACHED_VS_FIRST,
      normalize_float32_s: k.normalize_float32_s,
      load_dataset_first_s: k.load_dataset_first_s,
      load_dataset_cached_s: k.load_dataset_cached_s,
      load_dataset_cached_per_10k_s: round(((k.load_dataset_cached_s as number) * 10000) / count, 4),
      load_dataset_cached_folders_s: k.load_dataset_cached_folders_s,
      same_pixels_as_pillow: base.crc32 === k.crc32,
      same_pixels_first_and_cached: k.same_pixels_first_and_cached,
      first_vs_pillow_met: firstVsPillow >= TARGET_FIRST_VS_PILLOW,
      cached_vs_first_met_by: [...(cachedVsFirst >= TARGET_CACHED_VS_FIRST ? ['files'] : []), ...(stampsVsFirst >= TARGET_CACHED_VS_FIRST ? ['folders'] : [])],
      targets_met: firstVsPillow >= TARGET_FIRST_VS_PILLOW && Math.max(cachedVsFirst, stampsVsFirst) >= TARGET_CACHED_VS_FIRST,
    };
    log(`bench:data: ${count}: ${JSON.stringify(results[String(count)])}`);
  }
  console.log(JSON.stringify({ bench: 'data', folder: FOLDER, images: IMAGES, cores: availableParallelism(), loadavg_1m_at_end: loadavg1(), timing: 'first: catalog + decode; cached (--data-cache files): listing + stats + tensor file, as loadDataset; cached_folders (--data-cache folders): folder stamps + tensor file, each in a fresh process, median of 9; page cache warm', results }));
}

await main();
