/**
 * data/labelled — what every dataset source hands the rest of Kiln: labelled images in memory,
 * their class names, how they were normalized and who they are (digest, source, profile).
 *
 * Fashion-MNIST (data/dataset) and a user's own images (ImageFolder, CSV/JSONL manifest, IDX
 * pair: data/sources-*) all produce a LabelledDataset; training, tuning, tracking and the model
 * metadata only ever see this interface, never a source.
 */
import type { ImageSet } from './dataset.js';

export type ColorMode = 'gray' | 'rgb';
export type SplitName = 'train' | 'validation' | 'test';

/** What the data says a model's input must be. */
export interface DatasetSchema {
  height: number;
  width: number;
  /** 1 for gray, 3 for RGB (HWC). */
  channels: 1 | 3;
  color: ColorMode;
  /** Class index → name, in label order (folder names sorted, or the label list). */
  classNames: string[];
}

/**
 * A dataset's identity, logged to the run as an MLflow dataset input and stored in kiln-model.json.
 * `digest` covers every item (relative path, label, sha256 of the file bytes) and the
 * preprocessing settings (size, colour), so same digest = same tensors.
 */
export interface DatasetIdentity {
  /** Short name: 'fashion-mnist', or the folder/manifest's base name. */
  name: string;
  /** sha256 hex of the items and preprocessing (see above). */
  digest: string;
  /** Where it came from, as a user would write it again (absolute path or 'fashion-mnist'). */
  source: string;
  sourceType: 'builtin' | 'folder' | 'manifest' | 'idx';
  schema: DatasetSchema;
  /** Items per class (index order) for each split the source defines. */
  counts: Partial<Record<SplitName, number[]>>;
}

/** Normalization applied to 0–255 pixels: x' = (x / 255 - mean) / std, the same for every channel. */
export interface Normalization {
  mean: number;
  std: number;
}

/**
 * Labelled images, ready to train on. `validation` is present only when the source gives one
 * (a `val/` folder or split column); otherwise training splits it off `train` with its seed.
 * `test` is fixed by the source (given, or split off with the data seed), never by a run's seed.
 */
export interface LabelledDataset {
  identity: DatasetIdentity;
  train: ImageSet;
  validation?: ImageSet;
  test: ImageSet;
  classNames: readonly string[];
  normalization: Normalization;
  /** file -> sha256 of its bytes, for sources made of a few files (Fashion-MNIST's four IDX files); else empty. */
  sha256: Record<string, string>;
  /** file -> where it was read from (same scope as sha256); for folders: { root: path }. */
  sources: Record<string, string>;
}

/** One labelled image file of a user's dataset, before decoding (data/catalog-*). */
export interface CatalogItem {
  /** Absolute path of the file. */
  path: string;
  /** Path relative to the dataset root, '/'-separated: part of the digest and of every message. */
  relPath: string;
  /** Class index into Catalog.classNames. */
  label: number;
  /** The split the source assigns (a train/val/test folder or a manifest's split column), if any. */
  split?: SplitName;
}

/** Every item of a user's dataset as its source lists it, validated but not yet decoded. */
export interface Catalog {
  name: string;
  /** Absolute path of the folder or manifest. */
  source: string;
  /** Directory that relPaths are relative to. */
  root: string;
  sourceType: 'folder' | 'manifest';
  classNames: string[];
  items: CatalogItem[];
  /** Non-fatal findings (e.g. files skipped because they are not images), already worded for the user. */
  warnings: string[];
}

/** The size and colour every image of a dataset is decoded to. */
export interface DecodeTarget {
  height: number;
  width: number;
  channels: 1 | 3;
}

/**
 * A catalog's images decoded to a DecodeTarget (data/materialize): `pixels` holds the kept items'
 * 8-bit HWC pixels back to back, in `items` order (the catalog's, minus skipped bad images).
 */
export interface Materialized {
  pixels: Uint8Array;
  items: CatalogItem[];
  /** sha256 (hex) of each kept item's file bytes, in `items` order. */
  sha256: string[];
  /** Content digest of the items and the target (see DatasetIdentity.digest). */
  digest: string;
  /** Images that could not be decoded (only when skipping bad images; otherwise materialize throws). */
  bad: { relPath: string; reason: string }[];
  /** True when the pixels came from the cache, not from decoding. */
  fromCache: boolean;
}
