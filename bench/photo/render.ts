/**
 * bench/photo/render — turns a 28x28 Fashion-MNIST image back into what a shop or phone photo
 * of the item looks like: the item dark on a light or off-white backdrop, in colour, enlarged
 * to 64–512 px, with margins and off-centre placement, small rotations, JPEG/WebP/PNG at several
 * qualities, an EXIF-rotated phone JPEG and a transparent cut-out.
 *
 * The rendering inverts Fashion-MNIST's own conversion honestly: the item's luminance is the
 * negated original (that is what the data set's gray level is), its colour is a hue added with
 * zero luminance, and a colour cast tints the whole picture. Nothing here knows the serving
 * pipeline's settings. Seeded: the same (image, style, seed) always gives the same bytes.
 */
import sharp from 'sharp';
import { Random } from '../../src/common/random.js';

export const PHOTO_STYLES = ['studio', 'offwhite', 'small_jpeg', 'webp_rotated', 'exif_phone', 'cutout_png'] as const;
export type PhotoStyle = (typeof PHOTO_STYLES)[number];

export interface RenderedPhoto {
  bytes: Buffer;
  contentType: string;
  width: number;
  height: number;
}

const LUMA = [0.299, 0.587, 0.114];
/** Garment colours (sRGB); each gets its own luminance removed, so only its hue is added. */
const HUES = [
  [40, 60, 140],
  [170, 30, 40],
  [120, 80, 40],
  [60, 110, 60],
  [200, 170, 120],
  [90, 90, 90],
  [30, 30, 35],
  [180, 120, 160],
] as const;

const pick = <T>(rng: Random, list: readonly T[]): T => list[Math.floor(rng.float() * list.length)]!;
const between = (rng: Random, lo: number, hi: number): number => lo + (hi - lo) * rng.float();

/**
 * 28x28 gray (light item on black) → RGB, dark item on white: luminance 255 - v, plus a hue
 * offset of zero luminance that fades out at black and white (so it never clips much).
 */
function colourise(pixels: Uint8Array, hue: readonly number[], saturation: number): Buffer {
  const hueLuma = LUMA[0]! * hue[0]! + LUMA[1]! * hue[1]! + LUMA[2]! * hue[2]!;
  const rgb = Buffer.alloc(pixels.length * 3);
  for (let i = 0; i < pixels.length; i++) {
    const gray = 255 - pixels[i]!;
    const fade = 4 * (gray / 255) * (1 - gray / 255) * saturation;
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.max(0, Math.min(255, Math.round(gray + fade * (hue[c]! - hueLuma))));
  }
  return rgb;
}

interface Scene {
  canvas: [number, number];
  /** The item's longer side as a fraction of the canvas' shorter side. */
  fill: number;
  backdrop: [number, number, number];
  saturation: number;
  angle: number;
  format: 'jpeg' | 'webp' | 'png';
  quality: number;
  exif: boolean;
  cutout: boolean;
}

function scene(style: PhotoStyle, rng: Random): Scene {
  const side = (lo: number, hi: number): [number, number] => {
    const w = Math.round(between(rng, lo, hi));
    return [w, Math.round(w * between(rng, 0.8, 1.25))];
  };
  const offWhite = (): [number, number, number] => [Math.round(between(rng, 225, 250)), Math.round(between(rng, 220, 245)), Math.round(between(rng, 205, 240))];
  const base: Scene = { canvas: side(128, 256), fill: between(rng, 0.6, 0.9), backdrop: [255, 255, 255], saturation: 0, angle: 0, format: 'jpeg', quality: 90, exif: false, cutout: false };
  switch (style) {
    case 'studio':
      return base;
    case 'offwhite':
      return { ...base, canvas: side(64, 512), fill: between(rng, 0.45, 0.85), backdrop: offWhite(), saturation: between(rng, 0.5, 1), quality: Math.round(between(rng, 70, 90)) };
    case 'small_jpeg':
      return { ...base, canvas: side(64, 96), fill: between(rng, 0.6, 0.9), backdrop: offWhite(), saturation: between(rng, 0.3, 1), quality: Math.round(between(rng, 50, 75)) };
    case 'webp_rotated':
      return { ...base, canvas: side(256, 512), fill: between(rng, 0.5, 0.8), saturation: between(rng, 0.3, 1), angle: between(rng, -8, 8), format: 'webp', quality: Math.round(between(rng, 60, 90)) };
    case 'exif_phone':
      return { ...base, canvas: side(300, 512), fill: between(rng, 0.5, 0.8), backdrop: offWhite(), saturation: between(rng, 0.3, 1), angle: between(rng, -4, 4), quality: Math.round(between(rng, 75, 92)), exif: true };
    case 'cutout_png':
      return { ...base, canvas: side(128, 256), saturation: between(rng, 0.3, 1), format: 'png', cutout: true };
  }
}

/** Renders one 28x28 image (light on black, row-major) as a photo of `style`; `canvas` fixes its [width, height]. */
export async function renderPhoto(pixels: Uint8Array, style: PhotoStyle, seed: number, canvas?: [number, number]): Promise<RenderedPhoto> {
  const rng = new Random(seed);
  const s = scene(style, rng);
  if (canvas) s.canvas = canvas;
  const hue = pick(rng, HUES);
  const [cw, ch] = s.canvas;
  const itemSide = Math.max(8, Math.round(Math.min(cw, ch) * s.fill));
  // The item, enlarged; multiplied by the backdrop colour (a colour cast over the whole picture).
  let item = await sharp(colourise(pixels, hue, s.saturation), { raw: { width: 28, height: 28, channels: 3 } })
    .resize(itemSide, itemSide, { kernel: 'cubic' })
    .linear(s.backdrop.map((b) => b / 255), [0, 0, 0])
    .raw()
    .toBuffer();
  let alpha: Buffer | null = null;
  if (s.cutout) {
    // Opaque where the item is: the enlarged ink, so the item's own soft edges stay soft.
    alpha = await sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels: 1 } }).resize(itemSide, itemSide, { kernel: 'cubic' }).linear(2, 0).extractChannel(0).raw().toBuffer();
    const rgba = Buffer.alloc(itemSide * itemSide * 4);
    for (let i = 0; i < itemSide * itemSide; i++) {
      rgba.set(item.subarray(i * 3, i * 3 + 3), i * 4);
      rgba[i * 4 + 3] = alpha[i]!;
    }
    item = rgba;
  }
  const channels = s.cutout ? 4 : 3;
  const background = s.cutout ? { r: 0, g: 0, b: 0, alpha: 0 } : { r: s.backdrop[0], g: s.backdrop[1], b: s.backdrop[2], alpha: 1 };
  const rotated = await sharp(item, { raw: { width: itemSide, height: itemSide, channels } }).rotate(s.angle, { background }).raw().toBuffer({ resolveWithObject: true });
  const { width: rw, height: rh } = rotated.info;
  const left = Math.round(between(rng, 0, Math.max(0, cw - rw)));
  const top = Math.round(between(rng, 0, Math.max(0, ch - rh)));
  let image = sharp(rotated.data, { raw: { width: rw, height: rh, channels } }).extend({
    left,
    top,
    right: Math.max(0, cw - rw - left),
    bottom: Math.max(0, ch - rh - top),
    background,
  });
  if (s.exif) {
    // A phone's portrait shot: pixels stored turned a quarter left, EXIF orientation 6 to turn them back.
    const upright = await image.raw().toBuffer({ resolveWithObject: true });
    image = sharp(upright.data, { raw: { width: upright.info.width, height: upright.info.height, channels } }).rotate(-90).withMetadata({ orientation: 6 });
  }
  const encoded =
    s.format === 'webp' ? image.webp({ quality: s.quality }) : s.format === 'png' ? image.png() : image.jpeg({ quality: s.quality, chromaSubsampling: '4:2:0' });
  const { data, info } = await encoded.toBuffer({ resolveWithObject: true });
  return { bytes: data, contentType: `image/${s.format}`, width: info.width, height: info.height };
}
