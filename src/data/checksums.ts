/**
 * data/checksums — the pinned identity of the four canonical Fashion-MNIST files.
 *
 * Pins are the sha256 of the DECOMPRESSED IDX bytes, so any re-gzipped copy (the Debian
 * package `dataset-fashion-mnist`, the S3 mirror, the GitHub copy) verifies the same way.
 * The md5 values published by Zalando for the decompressed files are recorded alongside;
 * the sha256 pins were computed from copies whose decompressed md5 matched them:
 *
 *   train-images-idx3-ubyte  md5 f4a8712d7a061bf5bd6d2ca38dc4d50a  47,040,016 bytes
 *   train-labels-idx1-ubyte  md5 9018921c3c673c538a1fc5bad174d6f9      60,008 bytes
 *   t10k-images-idx3-ubyte   md5 8181f5470baa50b63fa0f6fddb340f0a   7,840,016 bytes
 *   t10k-labels-idx1-ubyte   md5 15d484375f8d13e6eb1aabb0c3f46965      10,008 bytes
 */
import { createHash } from 'node:crypto';

export const FASHION_MNIST_FILES = [
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
] as const;

export type FashionMnistFile = (typeof FASHION_MNIST_FILES)[number];

/** sha256 of the decompressed IDX bytes. */
export const FASHION_MNIST_SHA256: Readonly<Record<FashionMnistFile, string>> = Object.freeze({
  'train-images-idx3-ubyte': 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
  'train-labels-idx1-ubyte': 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
  't10k-images-idx3-ubyte': '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
  't10k-labels-idx1-ubyte': '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
});

/** md5 of the decompressed IDX bytes, as published upstream (informational; sha256 is what is checked). */
export const FASHION_MNIST_MD5: Readonly<Record<FashionMnistFile, string>> = Object.freeze({
  'train-images-idx3-ubyte': 'f4a8712d7a061bf5bd6d2ca38dc4d50a',
  'train-labels-idx1-ubyte': '9018921c3c673c538a1fc5bad174d6f9',
  't10k-images-idx3-ubyte': '8181f5470baa50b63fa0f6fddb340f0a',
  't10k-labels-idx1-ubyte': '15d484375f8d13e6eb1aabb0c3f46965',
});

/** Expected item counts of the canonical files. */
export const FASHION_MNIST_COUNTS: Readonly<Record<FashionMnistFile, number>> = Object.freeze({
  'train-images-idx3-ubyte': 60000,
  'train-labels-idx1-ubyte': 60000,
  't10k-images-idx3-ubyte': 10000,
  't10k-labels-idx1-ubyte': 10000,
});

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
