/**
 * kiln-ml/train — Kiln's training loop: Trainer (fit / validate / test) over TensorFlow.js models,
 * its callbacks (early stopping, top-k checkpoints, pruning, progress), optimisers and losses,
 * the MetricSink interface a tracking RunLogger implements, and the datasets it learns from
 * (loadDataset: Fashion-MNIST or your own images).
 *
 * Importing it loads TensorFlow.js; the tracking and tuning entry points do not.
 *
 * @example
 * import { EarlyStopping } from 'kiln-ml/train';
 * const stop = new EarlyStopping({ monitor: 'val_loss', patience: 3 });
 */
export * from '../train/index.js';
export {
  loadDataset,
  loadFashionMnist,
  fashionMnistDataset,
  type DataOptions,
  type LabelledDataset,
  type DatasetIdentity,
  type ImageSet,
  type Normalization,
} from '../data/index.js';
