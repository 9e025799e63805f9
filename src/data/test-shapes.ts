/**
 * data/test-shapes — a small RGB image dataset that the test suite draws itself (no downloads):
 * coloured shapes on noisy backgrounds, saved as real JPEG, PNG and WebP files of varying sizes in
 * the ImageFolder layout. Each class is a hue family (e.g. 'ember': reds and oranges) with a random
 * shape, so a small model learns it in a few epochs but no single pixel gives it away. Not used by
 * Kiln itself.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Random } from '../common/random.js';

/** Class name → base hue in degrees. */
export const TEST_CLASSES: Readonly<Record<string, number>> = { ember: 10, moss: 120, sky: 215 };

function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): number => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/** Raw RGB pixels of one image of the class whose base hue is `hue`. */
export function drawShape(rng: Random, hue: number, width: number, height: number): Buffer {
  const pixels = Buffer.alloc(width * height * 3);
  const background = 120 + rng.int(100);
  const [r, g, b] = hslToRgb((hue + (rng.float() - 0.5) * 40 + 360) % 360, 0.55 + rng.float() * 0.4, 0.35 + rng.float() * 0.25);
  const cx = width * (0.35 + rng.float() * 0.3);
  const cy = height * (0.35 + rng.float() * 0.3);
  const radius = Math.min(width, height) * (0.2 + rng.float() * 0.15);
  const shape = rng.int(3); // disc, square, diamond
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = Math.abs(x - cx);
      const dy = Math.abs(y - cy);
      const inside = shape === 0 ? dx * dx + dy * dy < radius * radius : shape === 1 ? Math.max(dx, dy) < radius : dx + dy < radius * 1.3;
      const noise = rng.int(31) - 15;
      const at = (y * width + x) * 3;
      pixels[at] = inside ? r : background + noise;
      pixels[at + 1] = inside ? g : background + noise;
      pixels[at + 2] = inside ? b : background + noise;
    }
  }
  return pixels;
}

/** One encoded image (JPEG, PNG or WebP by `format`) of a class. */
export async function encodeShape(rng: Random, hue: number, format: 'jpeg' | 'png' | 'webp', size = 40 + rng.int(57)): Promise<Buffer> {
  const width = size;
  const height = Math.round(size * (0.75 + rng.float() * 0.5));
  const image = sharp(drawShape(rng, hue, width, height), { raw: { width, height, channels: 3 } });
  return format === 'jpeg' ? image.jpeg({ quality: 85 }).toBuffer() : format === 'png' ? image.png().toBuffer() : image.webp({ quality: 85 }).toBuffer();
}

/**
 * Writes `perClass` images of each TEST_CLASSES class under `root/<class>/`, formats rotating
 * through JPEG, PNG and WebP. Returns the file paths per class.
 */
export async function writeTestImageFolder(root: string, perClass: number, seed = 7): Promise<Record<string, string[]>> {
  const rng = new Random(seed);
  const formats = ['jpeg', 'png', 'webp'] as const;
  const written: Record<string, string[]> = {};
  for (const [name, hue] of Object.entries(TEST_CLASSES)) {
    await mkdir(join(root, name), { recursive: true });
    written[name] = [];
    for (let i = 0; i < perClass; i++) {
      const format = formats[i % formats.length]!;
      const path = join(root, name, `${name}-${String(i).padStart(4, '0')}.${format === 'jpeg' ? 'jpg' : format}`);
      await writeFile(path, await encodeShape(rng, hue, format));
      written[name]!.push(path);
    }
  }
  return written;
}
