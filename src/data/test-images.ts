/**
 * data/test-images — helpers for the user-dataset tests: real image files (PNG, JPEG, WebP),
 * written with sharp into temp folders in the layouts Kiln reads. Not used by production code.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Random } from '../common/random.js';
import type { LabelledDataset } from './labelled.js';
import { loadSharp } from '../imaging/decode.js';

export interface ImageSpec {
  width: number;
  height: number;
  channels: 1 | 3;
  format?: 'png' | 'jpeg' | 'webp';
  /** Seeds the pixels: different seeds give different images. */
  seed: number;
}

/** Seeded random pixels, HWC. */
export function pixelsFor(spec: ImageSpec): Uint8Array {
  const rng = new Random(spec.seed);
  const out = new Uint8Array(spec.width * spec.height * spec.channels);
  for (let i = 0; i < out.length; i++) out[i] = rng.int(256);
  return out;
}

/** Encodes an image of `spec` (with `pixels`, else seeded random ones). */
export async function encodeImage(spec: ImageSpec, pixels = pixelsFor(spec)): Promise<Uint8Array> {
  const sharp = await loadSharp();
  const raw = sharp(pixels, { raw: { width: spec.width, height: spec.height, channels: spec.channels } });
  // Without this, sharp writes one-channel raw input as an RGB file.
  const image = spec.channels === 1 ? raw.toColourspace('b-w') : raw;
  const format = spec.format ?? 'png';
  const encoded = format === 'jpeg' ? image.jpeg({ quality: 95 }) : format === 'webp' ? image.webp({ lossless: true }) : image.png();
  return new Uint8Array(await encoded.toBuffer());
}

/** Writes one image file (creating folders). */
export async function writeImage(path: string, spec: ImageSpec, pixels?: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, await encodeImage(spec, pixels));
}

/**
 * Writes `counts[dir]` images into each `root/dir` (e.g. { cat: 3, dog: 4 } or
 * { 'train/cat': 3, 'test/cat': 1 }), named 000.png, 001.png, …; seeds are unique across the call.
 */
export async function writeFolder(root: string, counts: Record<string, number>, spec: Omit<ImageSpec, 'seed'> = { width: 8, height: 8, channels: 1 }, seed = 1): Promise<void> {
  let next = seed * 100_000;
  for (const [dir, count] of Object.entries(counts)) {
    await mkdir(join(root, dir), { recursive: true });
    const ext = spec.format === 'jpeg' ? 'jpg' : (spec.format ?? 'png');
    await Promise.all(Array.from({ length: count }, (_, k) => writeImage(join(root, dir, `${String(k).padStart(3, '0')}.${ext}`), { ...spec, seed: next + k })));
    next += count;
  }
}

/** A solid gray 8x8 PNG of value `v`: every value gives a file of the same size. */
export function solidImage(v: number): Promise<Uint8Array> {
  return encodeImage({ width: 8, height: 8, channels: 1, seed: 0 }, new Uint8Array(64).fill(v));
}

/** Writes <root>/<class>/<k>.png as solid images (solidImage), values 10, 20, … in order. */
export async function writeSolidFolder(root: string, counts: Record<string, number>): Promise<void> {
  let v = 10;
  for (const [dir, count] of Object.entries(counts)) {
    for (let k = 0; k < count; k++, v += 10) await writeImage(join(root, dir, `${k}.png`), { width: 8, height: 8, channels: 1, seed: 0 }, new Uint8Array(64).fill(v));
  }
}

/** The solid values (0-255) of every image of a dataset of solid 8x8 images loaded with normalize {mean 0, std 1}, sorted. */
export function solidValues(d: LabelledDataset): number[] {
  return [d.train.images, d.validation!.images, d.test.images]
    .flatMap((images) => Array.from({ length: images.length / 64 }, (_, k) => Math.round(images[k * 64]! * 255)))
    .sort((a, b) => a - b);
}
