/**
 * train/synthetic — a small, learnable stand-in for Fashion-MNIST used by the trainer's tests
 * (class c lights a 6x6 block at its own position, plus seeded noise). Not used by production code.
 */
import { Random } from '../common/random.js';
import type { ImageSet } from '../data/index.js';

export function syntheticImageSet(count: number, seed: number, noise = 0.3): ImageSet {
  const rng = new Random(seed);
  const images = new Float32Array(count * 784);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const label = rng.int(10);
    labels[i] = label;
    const top = 2 + Math.floor(label / 5) * 12;
    const left = 2 + (label % 5) * 5;
    for (let p = 0; p < 784; p++) images[i * 784 + p] = (rng.float() - 0.5) * noise * 2;
    for (let r = top; r < top + 6; r++) for (let c = left; c < left + 4; c++) images[i * 784 + r * 28 + c] += 1.5;
  }
  return { images, labels, count, height: 28, width: 28, channels: 1 };
}
