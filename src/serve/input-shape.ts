/**
 * serve/input-shape — the served model's input as a client sees it: height, width, channels and
 * colour (from kiln-model.json's preprocessing and inputShape), the words the API uses for it
 * ("32x32 RGB"), and the pixel arrays a JSON request may send for one image.
 *
 * Every route takes its shapes from here, so a model trained on 32x32 colour images and one
 * trained on Fashion-MNIST's 28x28 gray are served by the same code with no size written in it.
 *
 * Kiln's models take NHWC input ([H, W, C], 'hwc'). A model made elsewhere (PyTorch) may take
 * channels-first RGB ([3, H, W], 'chw'): images and pixel arrays are still given in image order,
 * and toModelOrder transposes each example just before inference.
 *
 * Pixel arrays are strict: flat H*W*C values, or nested [H][W][C] (also [H][W] and [1][H][W] for a
 * gray model, and the model's own inputShape when it orders values the same way); any other
 * nesting is refused, since a transposed [C][H][W] array has the right count and the wrong pixels.
 */
import type { KilnModelMetadata } from '../models/metadata.js';
import { badRequest } from './errors.js';

export interface InputGeometry {
  height: number;
  width: number;
  channels: 1 | 3;
  color: 'gray' | 'rgb';
  /** Values per image: height * width * channels. */
  size: number;
  /** The model's own per-example input shape (kiln-model.json inputShape). */
  modelShape: readonly number[];
  /** How the model orders one example's values: 'hwc' (image order, Kiln's models) or 'chw' (channels first). */
  layout: 'hwc' | 'chw';
}

const sameDims = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * The input of a model, from its kiln-model.json. Throws when the preprocessing and the inputShape
 * disagree (a hand-written file): the message names both.
 */
export function inputGeometry(metadata: Pick<KilnModelMetadata, 'inputShape' | 'preprocessing'>): InputGeometry {
  const [height, width] = metadata.preprocessing.size;
  const channels = metadata.preprocessing.colorMode === 'rgb' ? 3 : 1;
  const geometry: InputGeometry = { height, width, channels, color: channels === 3 ? 'rgb' : 'gray', size: height * width * channels, modelShape: metadata.inputShape, layout: 'hwc' };
  const modelSize = metadata.inputShape.reduce((a, b) => a * b, 1);
  if (modelSize !== geometry.size) {
    throw new Error(`kiln-model.json: ${metadata.preprocessing.colorMode} ${height}x${width} preprocessing gives ${geometry.size} values, but inputShape [${metadata.inputShape.join(', ')}] takes ${modelSize}`);
  }
  if (channels === 3 && !sameOrder(metadata.inputShape, geometry)) {
    if (sameDims(metadata.inputShape, [3, height, width])) return { ...geometry, layout: 'chw' };
    throw new Error(`kiln-model.json: inputShape [${metadata.inputShape.join(', ')}] is neither [${height}, ${width}, 3] (NHWC) nor [3, ${height}, ${width}] (NCHW) for ${height}x${width} RGB preprocessing`);
  }
  return geometry;
}

/** Whether a nested array shaped `shape` lists the values in image order (row by row, channels last). */
function sameOrder(shape: readonly number[], g: InputGeometry): boolean {
  const meaningful = shape.filter((d) => d !== 1);
  const image = [g.height, g.width, g.channels].filter((d) => d !== 1);
  return meaningful.length === image.length && meaningful.every((d, i) => d === image[i]);
}

/** "32x32 RGB" or "28x28 grayscale" (height x width). */
export function describeInput(g: InputGeometry): string {
  return `${g.height}x${g.width} ${g.color === 'rgb' ? 'RGB' : 'grayscale'}`;
}

/** The nested shapes one image may be sent as, besides a flat array (in the order they are named in errors). */
export function nestedShapes(g: InputGeometry): number[][] {
  // A gray image's values are in the same order however its channel of 1 is nested.
  const shapes = g.channels === 1 ? [[g.height, g.width], [g.height, g.width, 1], [1, g.height, g.width]] : [[g.height, g.width, g.channels]];
  if (g.modelShape.length > 1 && sameOrder(g.modelShape, g) && !shapes.some((s) => sameDims(s, g.modelShape))) shapes.push([...g.modelShape]);
  return shapes;
}

/** What one image's pixel array must be, for error messages and documentation. */
export function expectedPixels(g: InputGeometry): string {
  const nested = nestedShapes(g).map((s) => s.map((d) => `[${d}]`).join(''));
  return `${g.size} pixel values 0-255 for a ${describeInput(g)} image: flat, or nested ${nested.join(' or ')}`;
}


/** The dimensions of a nested array, read along its first elements ([] for a non-array). */
export function nestedShape(value: unknown): number[] {
  const dims: number[] = [];
  let at = value;
  while (Array.isArray(at)) {
    dims.push(at.length);
    at = at[0];
  }
  return dims;
}

/**
 * One image's pixel array (flat or nested, see the header) → its values in image order, checked:
 * WRONG_SIZE for a flat array of the wrong length, WRONG_SHAPE for any other nesting (ragged rows
 * included), INVALID_PIXEL for a value that is not a number in [0, 255]. Messages start with
 * `item <index>` and state the expected shape.
 */
export function flattenPixels(value: unknown, g: InputGeometry, index: number): number[] {
  const dims = nestedShape(value);
  const shape = dims.length === 1 ? [g.size] : nestedShapes(g).find((s) => sameDims(s, dims));
  if (!shape) throw badRequest('WRONG_SHAPE', `item ${index}: expected ${expectedPixels(g)}; got ${dims.length === 0 ? typeof value : `nested ${dims.map((d) => `[${d}]`).join('')}`}`);
  if (dims.length === 1 && dims[0] !== g.size) throw badRequest('WRONG_SIZE', `item ${index}: expected ${expectedPixels(g)}; got ${dims[0]} values`);
  const out: number[] = [];
  const walk = (node: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (typeof node !== 'number' || !Number.isFinite(node) || node < 0 || node > 255) {
        throw badRequest('INVALID_PIXEL', `item ${index}: pixel values must be numbers in [0, 255], got ${JSON.stringify(node)}`);
      }
      out.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw badRequest('WRONG_SHAPE', `item ${index}: expected ${expectedPixels(g)}; an array at depth ${depth} has ${Array.isArray(node) ? `${node.length} entries` : 'a number'} instead of ${shape[depth]}`);
    }
    for (const child of node) walk(child, depth + 1);
  };
  walk(value, 0);
  return out;
}

/**
 * Puts one example, written at `offset` in image order (HWC), into the model's order: a no-op for
 * 'hwc' models, a transposition to channels-first for 'chw' ones.
 */
export function toModelOrder(values: Float32Array, offset: number, g: InputGeometry): void {
  if (g.layout === 'hwc') return;
  const pixels = g.height * g.width;
  const image = values.slice(offset, offset + g.size);
  for (let p = 0; p < pixels; p++) for (let c = 0; c < g.channels; c++) values[offset + c * pixels + p] = image[p * g.channels + c]!;
}

/** Checks raw tensor values (KServe): numbers in [0, 255], integers when `integers`. */
export function checkPixelValues(values: readonly unknown[], integers: boolean): asserts values is number[] {
  for (const v of values) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 255 || (integers && !Number.isInteger(v))) {
      throw badRequest('INVALID_PIXEL', `${integers ? 'UINT8 values must be integers' : 'pixel values must be numbers'} in [0, 255], got ${JSON.stringify(v)}`);
    }
  }
}
