/**
 * serve/photo — a product photo (dark item on a light background, colour, any size) turned into
 * what Fashion-MNIST's images are, by the conversion Fashion-MNIST itself was made with
 * (zalandoresearch/fashion-mnist, "Get the Data"): trim the edges close to the corners' colour,
 * resize the longer edge to the model's size, sharpen, extend the shorter edge with the item
 * centred, negate, 8-bit gray.
 *
 * It works on a small raster (serve/raster decodes the upload straight to about 4x the model's
 * size: JPEG DCT scaling or libvips shrink-on-load), so every step here touches at most ~12k
 * pixels and the whole conversion costs tens of microseconds. Each of these steps exists in
 * libvips too, but each libvips call costs 0.4–6 ms of fixed set-up on the machines Kiln is
 * measured on (bench:photo, docs/photos.md), more than a whole FastAPI request; on rasters this
 * small the typed-array loops are the faster tool by two orders of magnitude.
 *
 * Two refinements beyond the published steps, both measured on renderings of validation images:
 * the background is white-balanced away (each channel divided by the corners' colour, so an
 * off-white or tinted backdrop negates to 0 like Fashion-MNIST's white one), and the trim ignores
 * rows and columns with fewer than two differing pixels (JPEG ringing, sensor noise).
 */
import type { Raster } from '../imaging/jpeg.js';

/** Tuned on renderings of validation images (bench:photo --split val); see docs/photos.md. */
export interface PhotoSettings {
  /** Largest per-channel difference from the background colour that still counts as background. */
  trimThreshold: number;
  /** Unsharp-mask amount (0: no sharpening) applied after the resize, Gaussian sigma 1. */
  sharpen: number;
}

export const DEFAULT_PHOTO_SETTINGS: PhotoSettings = { trimThreshold: 24, sharpen: 1 };

const LUMA = [0.299, 0.587, 0.114] as const;

/** The background colour: per channel, the median of the four corner patches' means. */
export function backgroundColour(r: Raster): number[] {
  const patch = Math.max(1, Math.min(3, Math.floor(Math.min(r.width, r.height) / 8)));
  const corners = [
    [0, 0],
    [r.width - patch, 0],
    [0, r.height - patch],
    [r.width - patch, r.height - patch],
  ] as const;
  const colour: number[] = [];
  for (let c = 0; c < r.channels; c++) {
    const means = corners.map(([x0, y0]) => {
      let sum = 0;
      for (let y = y0; y < y0 + patch; y++) for (let x = x0; x < x0 + patch; x++) sum += r.data[(y * r.width + x) * r.channels + c]!;
      return sum / (patch * patch);
    });
    means.sort((a, b) => a - b);
    colour.push((means[1]! + means[2]!) / 2);
  }
  return colour;
}

/** Mean gray level of a raster's pixels inside [x0, x1) x [y0, y1). */
function meanGray(r: Raster, x0: number, y0: number, x1: number, y1: number): number {
  let sum = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const at = (y * r.width + x) * r.channels;
      sum += r.channels === 1 ? r.data[at]! : LUMA[0] * r.data[at]! + LUMA[1] * r.data[at + 1]! + LUMA[2] * r.data[at + 2]!;
    }
  }
  return sum / Math.max(1, (x1 - x0) * (y1 - y0));
}

/**
 * The `auto` mode's evidence: a photo has a light border (an item on a light backdrop), at least
 * as light as its centre; Fashion-MNIST-like images have a dark one.
 */
export function looksLikePhoto(r: Raster): boolean {
  const ring = Math.max(1, Math.floor(Math.min(r.width, r.height) / 10));
  const { width: w, height: h } = r;
  const border =
    (meanGray(r, 0, 0, w, ring) * ring * w +
      meanGray(r, 0, h - ring, w, h) * ring * w +
      meanGray(r, 0, ring, ring, h - ring) * ring * (h - 2 * ring) +
      meanGray(r, w - ring, ring, w, h - ring) * ring * (h - 2 * ring)) /
    (2 * ring * w + 2 * ring * (h - 2 * ring));
  const centre = meanGray(r, Math.floor(w / 4), Math.floor(h / 4), Math.ceil((3 * w) / 4), Math.ceil((3 * h) / 4));
  return border >= 128 && border >= centre;
}

/**
 * Ink inside `box`: 0 where the backdrop is, 255 for black, after dividing each channel by the
 * backdrop's (a crop of box.width x box.height).
 */
function inkOf(r: Raster, background: number[], box: Box): Float32Array {
  const ink = new Float32Array(box.width * box.height);
  const gain = background.map((b) => 255 / Math.max(b, 32));
  const weight = r.channels === 1 ? [gain[0]!, 0, 0] : [LUMA[0] * gain[0]!, LUMA[1] * gain[1]!, LUMA[2] * gain[2]!];
  const cap = r.channels === 1 ? [255, 0, 0] : [255 * LUMA[0], 255 * LUMA[1], 255 * LUMA[2]];
  const { data, channels } = r;
  for (let y = 0; y < box.height; y++) {
    let at = ((box.y + y) * r.width + box.x) * channels;
    const row = y * box.width;
    for (let x = 0; x < box.width; x++, at += channels) {
      let gray = Math.min(cap[0]!, data[at]! * weight[0]!);
      if (channels === 3) gray += Math.min(cap[1]!, data[at + 1]! * weight[1]!) + Math.min(cap[2]!, data[at + 2]! * weight[2]!);
      ink[row + x] = 255 - gray;
    }
  }
  return ink;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The bounding box of pixels that differ from the background by more than the threshold. */
export function trimBox(r: Raster, background: number[], threshold: number): Box {
  const rows = new Uint32Array(r.height);
  const cols = new Uint32Array(r.width);
  const { data, channels, width, height } = r;
  const b0 = background[0]!;
  const b1 = background[channels === 3 ? 1 : 0]!;
  const b2 = background[channels === 3 ? 2 : 0]!;
  for (let y = 0, at = 0; y < height; y++) {
    for (let x = 0; x < width; x++, at += channels) {
      const differs =
        Math.abs(data[at]! - b0) > threshold || (channels === 3 && (Math.abs(data[at + 1]! - b1) > threshold || Math.abs(data[at + 2]! - b2) > threshold));
      if (differs) {
        rows[y]!++;
        cols[x]!++;
      }
    }
  }
  // A row or column needs two differing pixels: one is JPEG ringing or sensor noise.
  const first = (counts: Uint32Array): number => counts.findIndex((n) => n >= 2);
  const last = (counts: Uint32Array): number => {
    for (let i = counts.length - 1; i >= 0; i--) if (counts[i]! >= 2) return i;
    return -1;
  };
  const x0 = first(cols);
  const y0 = first(rows);
  if (x0 < 0 || y0 < 0) return { x: 0, y: 0, width, height };
  return { x: x0, y: y0, width: last(cols) - x0 + 1, height: last(rows) - y0 + 1 };
}

/**
 * Resampling weights from `from` samples to `to` (triangle filter widened by the shrink factor:
 * area-like averaging when shrinking, bilinear when enlarging).
 */
function weights(from: number, to: number): { start: Int32Array; taps: Float32Array[] } {
  const scale = from / to;
  const support = Math.max(1, scale);
  const start = new Int32Array(to);
  const taps: Float32Array[] = [];
  for (let i = 0; i < to; i++) {
    const centre = (i + 0.5) * scale - 0.5;
    const lo = Math.max(0, Math.ceil(centre - support));
    const hi = Math.min(from - 1, Math.floor(centre + support));
    const w = new Float32Array(hi - lo + 1);
    let sum = 0;
    for (let j = lo; j <= hi; j++) sum += w[j - lo] = Math.max(0, 1 - Math.abs(j - centre) / support);
    for (let j = 0; j < w.length; j++) w[j] = sum > 0 ? w[j]! / sum : 1 / w.length;
    start[i] = lo;
    taps.push(w);
  }
  return { start, taps };
}

/** Resizes a crop of a single-channel float image (row stride `stride`) to `toW` x `toH`. */
function resize(src: Float32Array, stride: number, box: Box, toW: number, toH: number): Float32Array {
  const h = weights(box.width, toW);
  const v = weights(box.height, toH);
  const rows = new Float32Array(toW * box.height);
  for (let y = 0; y < box.height; y++) {
    const row = (box.y + y) * stride + box.x;
    for (let x = 0; x < toW; x++) {
      const w = h.taps[x]!;
      let sum = 0;
      for (let k = 0; k < w.length; k++) sum += w[k]! * src[row + h.start[x]! + k]!;
      rows[y * toW + x] = sum;
    }
  }
  const out = new Float32Array(toW * toH);
  for (let y = 0; y < toH; y++) {
    const w = v.taps[y]!;
    for (let x = 0; x < toW; x++) {
      let sum = 0;
      for (let k = 0; k < w.length; k++) sum += w[k]! * rows[(v.start[y]! + k) * toW + x]!;
      out[y * toW + x] = sum;
    }
  }
  return out;
}

/** Unsharp mask: p + amount * (p - gaussian(p)), 3x3 Gaussian of sigma 1, edges replicated. */
function sharpen(src: Float32Array, width: number, height: number, amount: number): Float32Array {
  if (amount === 0) return src;
  const k = [0.27901, 0.44198, 0.27901]; // normalised Gaussian, sigma 1, radius 1
  const out = new Float32Array(src.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let blur = 0;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = Math.min(height - 1, Math.max(0, y + dy));
        for (let dx = -1; dx <= 1; dx++) {
          const xx = Math.min(width - 1, Math.max(0, x + dx));
          blur += k[dy + 1]! * k[dx + 1]! * src[yy * width + xx]!;
        }
      }
      const p = src[y * width + x]!;
      out[y * width + x] = p + amount * (p - blur);
    }
  }
  return out;
}

/**
 * The conversion: a photo raster → `height` x `width` 8-bit pixels, light item on black, the
 * item's longer edge filling the frame, centred.
 */
export function photoToDataset(r: Raster, [height, width]: [number, number], settings: PhotoSettings = DEFAULT_PHOTO_SETTINGS): Uint8Array {
  const background = backgroundColour(r);
  const box = trimBox(r, background, settings.trimThreshold);
  const ink = inkOf(r, background, box);
  const scale = Math.min(width / box.width, height / box.height);
  const toW = Math.max(1, Math.min(width, Math.round(box.width * scale)));
  const toH = Math.max(1, Math.min(height, Math.round(box.height * scale)));
  const item = sharpen(resize(ink, box.width, { ...box, x: 0, y: 0 }, toW, toH), toW, toH, settings.sharpen);
  const out = new Uint8Array(width * height);
  const left = Math.floor((width - toW) / 2);
  const top = Math.floor((height - toH) / 2);
  for (let y = 0; y < toH; y++) {
    for (let x = 0; x < toW; x++) out[(top + y) * width + left + x] = Math.min(255, Math.max(0, Math.round(item[y * toW + x]!)));
  }
  return out;
}
