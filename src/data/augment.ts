/**
 * data/augment — seeded, in-place augmentation of a whole batch of normalized images.
 *
 * Images are HWC (`channels` values per pixel); a flip or rotation moves whole pixels, every
 * channel sampled at the same point. Per image, in this order, two draws are taken from `rng`
 * (always both, whatever the options, so a given seed yields the same stream of decisions under
 * any settings): a flip decision
 * (horizontal mirror with probability `flipProbability`) and an angle uniform in
 * [-rotationDegrees, +rotationDegrees]. The image is flipped, then rotated about its centre with
 * bilinear interpolation; pixels sampled from outside the image take `fill`: the dataset's
 * normalized black (the trainer passes (0 - mean) / std; the default is Fashion-MNIST's
 * NORMALIZED_ZERO, its background).
 */
import type { Random } from '../common/random.js';
import { IMAGE_HEIGHT, IMAGE_WIDTH, NORMALIZED_ZERO } from './normalize.js';

export interface AugmentOptions {
  /** Maximum absolute rotation in degrees (0 disables rotation). */
  rotationDegrees: number;
  /** Probability of a horizontal flip per image, in [0, 1]. */
  flipProbability: number;
  height?: number;
  width?: number;
  /** Values per pixel (HWC): 1 for gray, 3 for RGB. Default 1. */
  channels?: number;
  /**
   * Value for pixels rotated in from outside the image: the dataset's normalized black,
   * (0 - mean) / std. Default NORMALIZED_ZERO (Fashion-MNIST's).
   */
  fill?: number;
}

/** Augments images 0..n-1 of `x` (n*height*width*channels floats, HWC) in place. */
export function augmentBatch(x: Float32Array, n: number, options: AugmentOptions, rng: Random): void {
  const h = options.height ?? IMAGE_HEIGHT;
  const w = options.width ?? IMAGE_WIDTH;
  const c = options.channels ?? 1;
  const size = h * w * c;
  if (x.length < n * size) throw new RangeError(`augmentBatch: x holds ${x.length} floats, ${n} images need ${n * size}`);
  const fill = options.fill ?? NORMALIZED_ZERO;
  const maxRad = (Math.abs(options.rotationDegrees) * Math.PI) / 180;
  const p = options.flipProbability;
  const src = new Float32Array(size);
  for (let k = 0; k < n; k++) {
    const flip = rng.float() < p;
    const angle = (rng.float() * 2 - 1) * maxRad;
    if (!flip && angle === 0) continue;
    const img = x.subarray(k * size, (k + 1) * size);
    if (angle === 0) {
      mirrorRows(img, h, w, c);
      continue;
    }
    src.set(img);
    rotate(src, img, h, w, c, angle, flip, fill);
  }
}

/** Exact mirror of each row; a pixel's channels move together and keep their order. */
function mirrorRows(img: Float32Array, h: number, w: number, c: number): void {
  if (c === 1) {
    for (let r = 0; r < h; r++) img.subarray(r * w, (r + 1) * w).reverse();
    return;
  }
  for (let r = 0; r < h; r++) {
    const row = r * w * c;
    for (let a = 0, b = w - 1; a < b; a++, b--) {
      for (let ch = 0; ch < c; ch++) {
        const i = row + a * c + ch;
        const j = row + b * c + ch;
        const t = img[i];
        img[i] = img[j];
        img[j] = t;
      }
    }
  }
}

/**
 * Rotates `src` by `angle` about its centre into `img` (bilinear, per channel, the same sampling
 * point for every channel of a pixel), mirroring columns first when `flip`.
 */
function rotate(src: Float32Array, img: Float32Array, h: number, w: number, c: number, angle: number, flip: boolean, fill: number): void {
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  // Inverse mapping: destination (dx, dy) samples the source at R(-angle)·(d - c) + c,
  // then (for a flip) at the mirrored column.
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  // Walking along a destination row moves the source point by (cos, -sin) (mirrored for a flip).
  const stepX = flip ? -cos : cos;
  const stepY = -sin;
  const wc = w * c;
  for (let dy = 0; dy < h; dy++) {
    const ry = dy - cy;
    let sx = cos * -cx + sin * ry + cx;
    let sy = -sin * -cx + cos * ry + cy;
    if (flip) sx = w - 1 - sx;
    const row = dy * wc;
    for (let dx = 0; dx < w; dx++, sx += stepX, sy += stepY) {
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const out = row + dx * c;
      if (x0 >= 0 && y0 >= 0 && x0 < w - 1 && y0 < h - 1) {
        // Fast path: all four neighbours inside.
        for (let ch = 0; ch < c; ch++) {
          const i = (y0 * w + x0) * c + ch;
          const top = src[i] + (src[i + c] - src[i]) * fx;
          const bottom = src[i + wc] + (src[i + wc + c] - src[i + wc]) * fx;
          img[out + ch] = top + (bottom - top) * fy;
        }
      } else {
        for (let ch = 0; ch < c; ch++) img[out + ch] = bilinearEdge(src, w, h, c, ch, x0, y0, fx, fy, fill);
      }
    }
  }
}

function bilinearEdge(src: Float32Array, w: number, h: number, c: number, ch: number, x0: number, y0: number, fx: number, fy: number, fill: number): number {
  if (x0 < -1 || y0 < -1 || x0 >= w || y0 >= h) return fill;
  const x1 = x0 + 1;
  const y1 = y0 + 1;
  const inX0 = x0 >= 0;
  const inX1 = x1 < w;
  const inY0 = y0 >= 0;
  const inY1 = y1 < h;
  const at = (x: number, y: number): number => src[(y * w + x) * c + ch];
  const v00 = inX0 && inY0 ? at(x0, y0) : fill;
  const v10 = inX1 && inY0 ? at(x1, y0) : fill;
  const v01 = inX0 && inY1 ? at(x0, y1) : fill;
  const v11 = inX1 && inY1 ? at(x1, y1) : fill;
  const top = v00 + (v10 - v00) * fx;
  const bottom = v01 + (v11 - v01) * fx;
  return top + (bottom - top) * fy;
}
