/**
 * data/augment — seeded, in-place augmentation of a whole batch of normalized images.
 *
 * Per image, in this order, two draws are taken from `rng` (always both, whatever the options, so a
 * given seed yields the same stream of decisions under any settings): a flip decision
 * (horizontal mirror with probability `flipProbability`) and an angle uniform in
 * [-rotationDegrees, +rotationDegrees]. The image is flipped, then rotated about its centre with
 * bilinear interpolation; pixels sampled from outside the image take `fill` (default the
 * normalized value of a black pixel, NORMALIZED_ZERO, i.e. the background).
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
  /** Value for pixels rotated in from outside the image. Default NORMALIZED_ZERO. */
  fill?: number;
}

/** Augments images 0..n-1 of `x` (n*height*width floats) in place. */
export function augmentBatch(x: Float32Array, n: number, options: AugmentOptions, rng: Random): void {
  const h = options.height ?? IMAGE_HEIGHT;
  const w = options.width ?? IMAGE_WIDTH;
  const size = h * w;
  if (x.length < n * size) throw new RangeError(`augmentBatch: x holds ${x.length} floats, ${n} images need ${n * size}`);
  const fill = options.fill ?? NORMALIZED_ZERO;
  const maxRad = (Math.abs(options.rotationDegrees) * Math.PI) / 180;
  const p = options.flipProbability;
  const src = new Float32Array(size);
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  for (let k = 0; k < n; k++) {
    const flip = rng.float() < p;
    const angle = (rng.float() * 2 - 1) * maxRad;
    if (!flip && angle === 0) continue;
    const base = k * size;
    const img = x.subarray(base, base + size);
    if (angle === 0) {
      // Exact mirror of each row.
      for (let r = 0; r < h; r++) img.subarray(r * w, (r + 1) * w).reverse();
      continue;
    }
    src.set(img);
    // Inverse mapping: destination (dx, dy) samples the source at R(-angle)·(d - c) + c,
    // then (for a flip) at the mirrored column.
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    // Walking along a destination row moves the source point by (cos, -sin) (mirrored for a flip).
    const stepX = flip ? -cos : cos;
    const stepY = -sin;
    for (let dy = 0; dy < h; dy++) {
      const ry = dy - cy;
      let sx = cos * -cx + sin * ry + cx;
      let sy = -sin * -cx + cos * ry + cy;
      if (flip) sx = w - 1 - sx;
      const row = dy * w;
      for (let dx = 0; dx < w; dx++, sx += stepX, sy += stepY) {
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        const fx = sx - x0;
        const fy = sy - y0;
        if (x0 >= 0 && y0 >= 0 && x0 < w - 1 && y0 < h - 1) {
          // Fast path: all four neighbours inside.
          const i = y0 * w + x0;
          const top = src[i] + (src[i + 1] - src[i]) * fx;
          const bottom = src[i + w] + (src[i + w + 1] - src[i + w]) * fx;
          img[row + dx] = top + (bottom - top) * fy;
        } else {
          img[row + dx] = bilinearEdge(src, w, h, x0, y0, fx, fy, fill);
        }
      }
    }
  }
}

function bilinearEdge(src: Float32Array, w: number, h: number, x0: number, y0: number, fx: number, fy: number, fill: number): number {
  if (x0 < -1 || y0 < -1 || x0 >= w || y0 >= h) return fill;
  const x1 = x0 + 1;
  const y1 = y0 + 1;
  const inX0 = x0 >= 0;
  const inX1 = x1 < w;
  const inY0 = y0 >= 0;
  const inY1 = y1 < h;
  const v00 = inX0 && inY0 ? src[y0 * w + x0] : fill;
  const v10 = inX1 && inY0 ? src[y0 * w + x1] : fill;
  const v01 = inX0 && inY1 ? src[y1 * w + x0] : fill;
  const v11 = inX1 && inY1 ? src[y1 * w + x1] : fill;
  const top = v00 + (v10 - v00) * fx;
  const bottom = v01 + (v11 - v01) * fx;
  return top + (bottom - top) * fy;
}
