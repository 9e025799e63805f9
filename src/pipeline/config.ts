/**
 * pipeline/config — what a tuning study runs: the search space, the training budget, the
 * sampler and pruner, the registry rule. Three built-in profiles (`seed`, `quick`, `best`),
 * optionally overridden by a YAML file (`kiln.yml`), then by KILN_* environment variables, then
 * by CLI flags. Every key is validated; an error names the key and what it accepts.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { KilnError } from '../common/errors.js';

export interface IntRange {
  low: number;
  high: number;
  log?: boolean;
  step?: number;
}

export interface FloatRange {
  low: number;
  high: number;
  log?: boolean;
  step?: number;
}

export interface Choices<T> {
  choices: T[];
}

/** A searched value (a range or a list of choices) or a fixed one. */
export type Searched<T, R> = T | R;

export interface MlpSpace {
  model: 'mlp';
  n_layers: Searched<number, IntRange>;
  units: Searched<number, IntRange>;
  dropout: Searched<number, FloatRange>;
}

export interface CnnSpace {
  model: 'cnn';
  conv_channels: Searched<string, Choices<string>>;
  kernel: Searched<number, Choices<number>>;
  batch_norm: Searched<boolean, Choices<boolean>>;
  dense_units: Searched<number, IntRange>;
  dropout: Searched<number, FloatRange>;
}

export interface StudyConfig {
  name: string;
  sampler: 'tpe' | 'random';
  pruner: 'median' | 'percentile' | 'successive-halving' | 'hyperband' | 'none';
  seed: number;
  n_trials: number;
  timeout_s: number;
  /**
   * 'soft' (default, Optuna's meaning): no trial starts after timeout_s, running ones finish.
   * 'hard': running trials stop too, keeping their best epoch, so the study ends on time.
   */
  timeout_mode?: 'soft' | 'hard';
  workers: number;
}

export interface TrainingBudget {
  epochs: number;
  batch_size: number;
  lr: Searched<number, FloatRange>;
  patience: number | null;
  validation_size: number;
  /** Cross-entropy label smoothing in [0, 0.5] (default 0). */
  label_smoothing?: number;
  /** Training-batch augmentation: probability of a horizontal flip (default 0). */
  augment_flip?: number;
  /** Training-batch augmentation: largest random rotation, degrees (default 0). */
  augment_rotation?: number;
}

export interface RegistryConfig {
  model_name: string;
  alias: string;
  /** Metric that decides whether the alias moves (higher is better). */
  metric: string;
}

export interface PipelineConfig {
  profile: string;
  study: StudyConfig;
  search_space: MlpSpace | CnnSpace;
  training: TrainingBudget;
  registry: RegistryConfig;
}

const REGISTRY: RegistryConfig = { model_name: 'fashion-mnist', alias: 'champion', metric: 'test_acc' };

/** Built-in profiles. `seed` is exactly the seed project's space and budget. */
export const PROFILES: Record<'seed' | 'quick' | 'best', PipelineConfig> = {
  seed: {
    profile: 'seed',
    study: { name: 'fashion-mnist-seed', sampler: 'tpe', pruner: 'median', seed: 42, n_trials: 3, timeout_s: 600, workers: 1 },
    search_space: { model: 'mlp', n_layers: { low: 1, high: 3 }, units: { low: 4, high: 128, log: true }, dropout: { low: 0.2, high: 0.5 } },
    training: { epochs: 2, batch_size: 128, lr: 1e-3, patience: null, validation_size: 5000 },
    registry: REGISTRY,
  },
  quick: {
    profile: 'quick',
    study: { name: 'fashion-mnist-quick', sampler: 'tpe', pruner: 'median', seed: 42, n_trials: 10, timeout_s: 75, workers: 1 },
    search_space: { model: 'mlp', n_layers: { low: 1, high: 3 }, units: { low: 64, high: 512, log: true }, dropout: { low: 0.1, high: 0.4 } },
    training: { epochs: 8, batch_size: 128, lr: { low: 5e-4, high: 5e-3, log: true }, patience: 3, validation_size: 5000 },
    registry: REGISTRY,
  },
  best: {
    profile: 'best',
    // 27 minutes of study, hard: the best trial is then tested and registered inside 30 minutes.
    study: { name: 'fashion-mnist-best', sampler: 'tpe', pruner: 'hyperband', seed: 42, n_trials: 6, timeout_s: 1620, timeout_mode: 'hard', workers: 1 },
    search_space: {
      model: 'cnn',
      conv_channels: { choices: ['32,64', '48,96', '64,128'] },
      kernel: 3,
      // A batch-norm training step still costs ~2.3x a plain one on the engine (the stock wasm
      // element-wise ops of its gradient), which a 30-minute budget on 2 cores cannot afford.
      batch_norm: false,
      dense_units: { low: 128, high: 256, log: true },
      dropout: { low: 0.2, high: 0.5 },
    },
    // Flips add what a 30-minute budget cannot buy with more epochs: a garment mirrored is still itself.
    training: { epochs: 15, batch_size: 128, lr: { low: 7e-4, high: 3e-3, log: true }, patience: 4, validation_size: 5000, augment_flip: 0.5, label_smoothing: 0.05 },
    registry: REGISTRY,
  },
};

export class ConfigError extends KilnError {
  constructor(key: string, message: string) {
    super('KILN_ERR_CONFIG', `invalid config key "${key}": ${message}`);
    this.name = 'ConfigError';
  }
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function number(key: string, value: unknown, min: number, max: number, integer = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new ConfigError(key, `expected ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${JSON.stringify(value)}`);
  }
  return value;
}

function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) throw new ConfigError(key, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

function range(key: string, value: unknown, min: number, max: number, integer: boolean): number | IntRange {
  if (typeof value === 'number') return number(key, value, min, max, integer);
  if (!isObject(value)) throw new ConfigError(key, `expected a number or {low, high, log?, step?}, got ${JSON.stringify(value)}`);
  unknownKeys(key, value, ['low', 'high', 'log', 'step']);
  const low = number(`${key}.low`, value.low, min, max, integer);
  const high = number(`${key}.high`, value.high, min, max, integer);
  if (low > high) throw new ConfigError(key, `low (${low}) is above high (${high})`);
  if (value.log !== undefined && typeof value.log !== 'boolean') throw new ConfigError(`${key}.log`, 'expected true or false');
  if (value.log === true && low <= 0) throw new ConfigError(`${key}.low`, 'must be > 0 on a log scale');
  const out: IntRange = { low, high };
  if (value.log === true) out.log = true;
  if (value.step !== undefined) {
    if (value.log === true) throw new ConfigError(`${key}.step`, 'cannot be combined with log');
    out.step = number(`${key}.step`, value.step, 0, max - min + 1, integer);
  }
  return out;
}

function choices<T>(key: string, value: unknown, check: (v: unknown) => v is T, what: string): T | Choices<T> {
  if (check(value)) return value;
  if (!isObject(value) || !Array.isArray(value.choices) || value.choices.length === 0 || !value.choices.every(check)) {
    throw new ConfigError(key, `expected ${what} or {choices: [${what}, …]}, got ${JSON.stringify(value)}`);
  }
  unknownKeys(key, value, ['choices']);
  return { choices: value.choices };
}

function unknownKeys(prefix: string, value: Json, allowed: string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new ConfigError(prefix ? `${prefix}.${key}` : key, `unknown key (allowed: ${allowed.join(', ')})`);
  }
}

/** Deep-merges `override` into `base` (objects merge, everything else replaces). */
function merge(base: unknown, override: unknown): unknown {
  if (!isObject(base) || !isObject(override)) return override === undefined ? base : override;
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = merge(base[key], value);
  return out;
}

/** Validates a whole configuration object, returning it typed. */
export function validateConfig(raw: unknown): PipelineConfig {
  if (!isObject(raw)) throw new ConfigError('(root)', 'expected a mapping');
  unknownKeys('', raw, ['profile', 'study', 'search_space', 'training', 'registry']);
  const study = isObject(raw.study) ? raw.study : {};
  unknownKeys('study', study, ['name', 'sampler', 'pruner', 'seed', 'n_trials', 'timeout_s', 'timeout_mode', 'workers']);
  if (typeof study.name !== 'string' || !/^[\w.-]{1,100}$/.test(study.name)) throw new ConfigError('study.name', `expected 1-100 letters, digits, '.', '_' or '-', got ${JSON.stringify(study.name)}`);
  const space = isObject(raw.search_space) ? raw.search_space : {};
  const model = oneOf('search_space.model', space.model, ['mlp', 'cnn'] as const);
  let searchSpace: MlpSpace | CnnSpace;
  if (model === 'mlp') {
    unknownKeys('search_space', space, ['model', 'n_layers', 'units', 'dropout']);
    searchSpace = {
      model,
      n_layers: range('search_space.n_layers', space.n_layers, 1, 8, true),
      units: range('search_space.units', space.units, 1, 4096, true),
      dropout: range('search_space.dropout', space.dropout, 0, 0.9, false),
    };
  } else {
    unknownKeys('search_space', space, ['model', 'conv_channels', 'kernel', 'batch_norm', 'dense_units', 'dropout']);
    const isChannels = (v: unknown): v is string => typeof v === 'string' && /^\d+(,\d+){0,3}$/.test(v);
    searchSpace = {
      model,
      conv_channels: choices('search_space.conv_channels', space.conv_channels, isChannels, 'a comma-separated channel list like "32,64"'),
      kernel: choices('search_space.kernel', space.kernel, (v): v is number => v === 1 || v === 3 || v === 5 || v === 7, 'an odd kernel size 1-7'),
      batch_norm: choices('search_space.batch_norm', space.batch_norm, (v): v is boolean => typeof v === 'boolean', 'true or false'),
      dense_units: range('search_space.dense_units', space.dense_units, 1, 4096, true),
      dropout: range('search_space.dropout', space.dropout, 0, 0.9, false),
    };
  }
  const training = isObject(raw.training) ? raw.training : {};
  unknownKeys('training', training, ['epochs', 'batch_size', 'lr', 'patience', 'validation_size', 'label_smoothing', 'augment_flip', 'augment_rotation']);
  const registry = isObject(raw.registry) ? raw.registry : {};
  unknownKeys('registry', registry, ['model_name', 'alias', 'metric']);
  const text = (key: string, value: unknown): string => {
    if (typeof value !== 'string' || value === '') throw new ConfigError(key, `expected a non-empty string, got ${JSON.stringify(value)}`);
    return value;
  };
  return {
    profile: typeof raw.profile === 'string' ? raw.profile : 'custom',
    study: {
      name: study.name,
      sampler: oneOf('study.sampler', study.sampler, ['tpe', 'random'] as const),
      pruner: oneOf('study.pruner', study.pruner, ['median', 'percentile', 'successive-halving', 'hyperband', 'none'] as const),
      seed: number('study.seed', study.seed, 0, 2 ** 32 - 1, true),
      n_trials: number('study.n_trials', study.n_trials, 1, 100000, true),
      timeout_s: number('study.timeout_s', study.timeout_s, 1, 7 * 24 * 3600),
      workers: number('study.workers', study.workers, 1, 64, true),
      ...(study.timeout_mode === undefined ? {} : { timeout_mode: oneOf('study.timeout_mode', study.timeout_mode, ['soft', 'hard'] as const) }),
    },
    search_space: searchSpace,
    training: {
      epochs: number('training.epochs', training.epochs, 1, 1000, true),
      batch_size: number('training.batch_size', training.batch_size, 1, 8192, true),
      lr: range('training.lr', training.lr, 1e-7, 1, false),
      patience: training.patience === null || training.patience === undefined ? null : number('training.patience', training.patience, 1, 1000, true),
      validation_size: number('training.validation_size', training.validation_size, 1, 30000, true),
      ...(training.label_smoothing === undefined ? {} : { label_smoothing: number('training.label_smoothing', training.label_smoothing, 0, 0.5) }),
      ...(training.augment_flip === undefined ? {} : { augment_flip: number('training.augment_flip', training.augment_flip, 0, 1) }),
      ...(training.augment_rotation === undefined ? {} : { augment_rotation: number('training.augment_rotation', training.augment_rotation, 0, 180) }),
    },
    registry: { model_name: text('registry.model_name', registry.model_name), alias: text('registry.alias', registry.alias), metric: text('registry.metric', registry.metric) },
  };
}

export interface ConfigSources {
  profile?: string;
  /** Path of a YAML file; its top level may hold any key of a profile, and `profiles: {name: {...}}`. */
  file?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Final overrides from CLI flags, in config shape. */
  overrides?: Record<string, unknown>;
}

/** Profile → file → environment (KILN_PROFILE, KILN_WORKERS, KILN_N_TRIALS, KILN_TIMEOUT_S, KILN_EPOCHS) → flags. */
export async function loadConfig(sources: ConfigSources = {}): Promise<PipelineConfig> {
  const env = sources.env ?? process.env;
  let file: Json = {};
  if (sources.file) {
    let text: string;
    try {
      text = await readFile(sources.file, 'utf8');
    } catch (error) {
      throw new KilnError('KILN_ERR_CONFIG', `cannot read config file ${sources.file}: ${(error as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (error) {
      throw new KilnError('KILN_ERR_CONFIG', `${sources.file} is not valid YAML: ${(error as Error).message}`);
    }
    if (parsed !== null && !isObject(parsed)) throw new ConfigError('(root)', `${sources.file} must hold a mapping`);
    file = (parsed ?? {}) as Json;
  }
  const customProfiles = isObject(file.profiles) ? file.profiles : {};
  const name = sources.profile ?? env.KILN_PROFILE ?? (typeof file.profile === 'string' ? file.profile : 'quick');
  const builtin = (PROFILES as Record<string, PipelineConfig | undefined>)[name];
  const custom = customProfiles[name];
  if (builtin === undefined && !isObject(custom)) {
    throw new ConfigError('profile', `unknown profile "${name}" (built in: ${Object.keys(PROFILES).join(', ')}${Object.keys(customProfiles).length ? `; in ${sources.file}: ${Object.keys(customProfiles).join(', ')}` : ''})`);
  }
  const { profiles: _profiles, ...topLevel } = file;
  let merged = merge(merge(builtin ?? PROFILES.quick, custom ?? {}), topLevel) as Json;
  merged.profile = name;
  const envOverrides: Json = {};
  const envNumber = (variable: string, key: string): number | undefined => {
    const text = env[variable];
    if (text === undefined || text === '') return undefined;
    const value = Number(text);
    if (!Number.isFinite(value)) throw new ConfigError(key, `${variable}=${text} is not a number`);
    return value;
  };
  const study: Json = {};
  const workers = envNumber('KILN_WORKERS', 'study.workers');
  if (workers !== undefined) study.workers = workers;
  const trials = envNumber('KILN_N_TRIALS', 'study.n_trials');
  if (trials !== undefined) study.n_trials = trials;
  const timeout = envNumber('KILN_TIMEOUT_S', 'study.timeout_s');
  if (timeout !== undefined) study.timeout_s = timeout;
  if (Object.keys(study).length > 0) envOverrides.study = study;
  const epochs = envNumber('KILN_EPOCHS', 'training.epochs');
  if (epochs !== undefined) envOverrides.training = { epochs };
  merged = merge(merge(merged, envOverrides), sources.overrides ?? {}) as Json;
  return validateConfig(merged);
}
