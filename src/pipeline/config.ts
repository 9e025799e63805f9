/**
 * pipeline/config — what a tuning study runs: the search space, the training budget, the
 * sampler and pruner, the registry rule. Three built-in profiles (`seed`, `quick`, `best`), a
 * YAML file (`kiln.yml`) whose top-level keys are defaults and whose `profiles:` adds named ones,
 * KILN_* environment variables and CLI flags are layered (see `resolveConfig`), and the result is
 * checked against the schema (config-schema). Every value keeps where it came from, for
 * `--dry-run` and for errors, which name the key, where it was set and the flag that sets it.
 */
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { KilnError } from '../common/errors.js';
import { datasetName } from '../data/data-spec.js';
import { maxConvBlocks } from '../models/spec.js';
import { firstProblem, KilnFileSchema, PipelineConfigSchema, type PipelineConfig, type RegistryConfig } from './config-schema.js';

export type { Choices, CnnSpace, DataConfig, FloatRange, IntRange, MlpSpace, PipelineConfig, RegistryConfig, StudyConfig, TrainingBudget } from './config-schema.js';

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

/**
 * The search space as a study on height x width images samples it. A CNN's conv blocks each
 * halve the image (2x2 max pooling), so `conv_channels` choices keep at most as many blocks as
 * the input allows (choices that become equal merge): a tuner never samples a model that cannot
 * be built. From 16x16 up (Fashion-MNIST's 28x28 among them) the input allows the most blocks a
 * CNN may have (4), so the space stays exactly as written.
 */
export function searchSpaceFor(space: PipelineConfig['search_space'], input: { height: number; width: number }): PipelineConfig['search_space'] {
  if (space.model !== 'cnn') return space;
  const blocks = maxConvBlocks(input);
  const fit = (channels: string): string => channels.split(',').slice(0, Math.max(blocks, 1)).join(',');
  const choices = typeof space.conv_channels === 'string' ? [space.conv_channels] : space.conv_channels.choices;
  const scaled = [...new Set(choices.map(fit))];
  if (scaled.length === choices.length && scaled.every((c, i) => c === choices[i])) return space;
  return { ...space, conv_channels: typeof space.conv_channels === 'string' ? scaled[0]! : { choices: scaled } };
}

export class ConfigError extends KilnError {
  readonly key: string;

  constructor(key: string, message: string) {
    super('KILN_ERR_CONFIG', `invalid config key "${key}": ${message}`);
    this.name = 'ConfigError';
    this.key = key;
  }
}

/** The keys a flag (and some an environment variable) sets; flags are named in errors and `--dry-run`. */
export const CONFIG_FLAGS: readonly { key: string; flag: string; env?: string; kind: 'integer' | 'number' | 'string' }[] = [
  { key: 'study.workers', flag: '--workers', env: 'KILN_WORKERS', kind: 'integer' },
  { key: 'study.n_trials', flag: '--n-trials', env: 'KILN_N_TRIALS', kind: 'integer' },
  { key: 'study.timeout_s', flag: '--timeout', env: 'KILN_TIMEOUT_S', kind: 'number' },
  { key: 'training.epochs', flag: '--epochs', env: 'KILN_EPOCHS', kind: 'integer' },
  { key: 'study.name', flag: '--study-name', kind: 'string' },
  { key: 'study.sampler', flag: '--sampler', kind: 'string' },
  { key: 'study.pruner', flag: '--pruner', kind: 'string' },
  { key: 'profile', flag: '--profile', env: 'KILN_PROFILE', kind: 'string' },
  { key: 'device', flag: '--device', env: 'KILN_DEVICE', kind: 'string' },
  { key: 'data.source', flag: '--data', env: 'KILN_DATA', kind: 'string' },
  { key: 'data.image_size', flag: '--image-size', kind: 'string' },
  { key: 'data.color', flag: '--color', kind: 'string' },
  { key: 'data.val_size', flag: '--val-size', kind: 'number' },
  { key: 'data.test_size', flag: '--test-size', kind: 'number' },
  { key: 'data.split_seed', flag: '--split-seed', kind: 'integer' },
  { key: 'data.max_memory', flag: '--max-memory', kind: 'string' },
  { key: 'data.cache', flag: '--data-cache', kind: 'string' },
];

/** Where a value came from, lowest precedence first. */
export type OriginKind = 'default' | 'file' | 'profile' | 'env' | 'flag';
export interface Origin {
  kind: OriginKind;
  /** The file, profile, variable or flag; 'built-in' for defaults. */
  name: string;
}

export function describeOrigin(origin: Origin): string {
  return origin.kind === 'default' ? 'default' : `${origin.kind} ${origin.name}`;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** " (set in kiln.yml; flag --workers)": where a bad value came from and how else to set it. */
function whereSet(key: string, origins?: ReadonlyMap<string, Origin>): string {
  const parts: string[] = [];
  const setBy = (origin: Origin): string => (origin.kind === 'default' ? 'a built-in default' : origin.kind === 'file' ? `set in ${origin.name}` : `set by ${describeOrigin(origin)}`);
  const leaves = origins ? originsUnder(key, origins) : [];
  const distinct = [...new Map(leaves.map(([, origin]) => [describeOrigin(origin), origin])).values()];
  if (distinct.length === 1) parts.push(setBy(distinct[0]!));
  // A range whose ends came from different layers: say which end came from where.
  else if (distinct.length > 1) parts.push(leaves.map(([leaf, origin]) => `${leaf.slice(key.length + 1)} ${setBy(origin)}`).join(', '));
  else if (origins && key.includes('.')) {
    // A missing key: the mapping that lacks it came from somewhere.
    const parent = key.slice(0, key.lastIndexOf('.'));
    const origin = originOf(parent, origins);
    if (origin) parts.push(`${parent} ${setBy(origin)}`);
  }
  const flag = CONFIG_FLAGS.find((entry) => entry.key === key.replace(/^profiles\.[^.]+\./, ''))?.flag;
  if (flag && !(distinct.length === 1 && distinct[0]!.name === flag)) parts.push(`flag ${flag}`);
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

/** The origins recorded for a key: its own, or those of the values inside it, or that of the value holding it. */
function originsUnder(key: string, origins: ReadonlyMap<string, Origin>): [string, Origin][] {
  const matches = [...origins].filter(([path]) => path === key || path.startsWith(`${key}.`) || key.startsWith(`${path}.`));
  return matches.sort(([a], [b]) => a.localeCompare(b));
}

/** The layer that decided a key: of the values recorded for it, the one applied last. */
function originOf(key: string, origins: ReadonlyMap<string, Origin>): Origin | undefined {
  let last: Origin | undefined;
  for (const [path, origin] of origins) if (path === key || path.startsWith(`${key}.`) || key.startsWith(`${path}.`)) last = origin;
  return last;
}

/** Semantic rules of a range the schema cannot say: low ≤ high, log needs low > 0, no step on a log scale. */
function checkRanges(value: unknown, key: string, origins?: ReadonlyMap<string, Origin>): void {
  if (!isObject(value)) return;
  if (typeof value.low === 'number' && typeof value.high === 'number') {
    const fail = (at: string, message: string): never => {
      throw new ConfigError(at, message + whereSet(at, origins));
    };
    if (value.low > value.high) fail(key, `low (${value.low}) is above high (${value.high})`);
    if (value.log === true && value.low <= 0) fail(`${key}.low`, 'must be > 0 on a log scale');
    if (value.log === true && value.step !== undefined) fail(`${key}.step`, 'cannot be combined with log');
    return;
  }
  for (const [child, inner] of Object.entries(value)) checkRanges(inner, key ? `${key}.${child}` : child, origins);
}

/** Validates a whole configuration object, returning it typed; `origins` (from resolveConfig) makes errors say where a value was set. */
export function validateConfig(raw: unknown, origins?: ReadonlyMap<string, Origin>): PipelineConfig {
  if (!isObject(raw)) throw new ConfigError('(root)', 'expected a mapping');
  const config: Json = { ...raw, profile: typeof raw.profile === 'string' ? raw.profile : 'custom' };
  // An absent patience is no early stopping, as it always was.
  if (isObject(config.training) && config.training.patience === undefined) config.training = { ...config.training, patience: null };
  const problem = firstProblem(PipelineConfigSchema, config);
  if (problem) throw new ConfigError(problem.key, problem.message + whereSet(problem.key, origins));
  checkRanges(config, '', origins);
  return config as PipelineConfig;
}

/** A configuration with where each of its values came from, and the conflicts worth a warning. */
export interface ResolvedConfig {
  config: PipelineConfig;
  /** Dotted key of every value that a layer set → the layer that won. */
  origins: Map<string, Origin>;
  warnings: string[];
}

export interface ConfigSources {
  profile?: string;
  /** Path of a YAML file; its top level may hold any key of a profile, and `profiles: {name: {...}}`. */
  file?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Final overrides from CLI flags, in config shape. */
  overrides?: Record<string, unknown>;
}

export async function loadConfig(sources: ConfigSources = {}): Promise<PipelineConfig> {
  return (await resolveConfig(sources)).config;
}

/**
 * Layers, each winning over the ones before it:
 *   built-in defaults → the file's top-level keys → the named profile → KILN_* variables → flags.
 * The named profile is the one --profile or KILN_PROFILE names, else the file's `profile:` key,
 * else `quick`. A profile from the file's `profiles:` section starts from `quick`'s values. One
 * exception keeps a file that customises a built-in profile working: a built-in profile that
 * nobody named at run time (only the file's `profile:` key, or the default) is the file's base,
 * below its top-level keys. A named profile that overrides a different top-level value is
 * reported in `warnings`.
 */
export async function resolveConfig(sources: ConfigSources = {}): Promise<ResolvedConfig> {
  const env = sources.env ?? process.env;
  const path = sources.file ?? '';
  const file = sources.file ? await readConfigFile(sources.file) : {};
  const selected = selectProfile(sources.profile, env, file, path);
  const layers = [...profileLayers(selected, file, path), ...environmentLayers(env)];
  const merged: Json = {};
  const origins = new Map<string, Origin>([['profile', selected.origin]]);
  const conflicts: [string, string][] = [];
  for (const [values, origin] of layers) apply(merged, values, () => origin, '', origins, conflicts);
  apply(merged, sources.overrides ?? {}, (key) => ({ kind: 'flag', name: CONFIG_FLAGS.find((entry) => entry.key === key)?.flag ?? 'flag' }), '', origins, conflicts);
  // Only conflicts the profile won are worth a word: a flag or variable above it decided the others.
  const lost = conflicts.filter(([key]) => originOf(key, origins)?.kind === 'profile').map(([, text]) => text);
  const warnings = lost.length
    ? [
        `profile ${selected.name} overrides ${path}'s top-level ${lost.join(', ')}: a named profile wins over the file's top-level keys ` +
          `(set them in profiles.${selected.name} of ${path}, or with flags, to change them for this profile)`,
      ]
    : [];
  const { device, data, study, search_space, training, registry } = merged;
  const config = validateConfig({ profile: selected.name, device, ...(data === undefined ? {} : { data }), study, search_space, training, registry }, origins);
  return { config: nameAfterData(config, origins), origins, warnings };
}

/** The dataset's name (data/data-spec datasetName), made fit for a study or model name. */
export function dataName(source: string | undefined): string {
  return datasetName(source).replace(/[^\w.-]+/g, '-').slice(0, 60) || 'data';
}

/**
 * A study and a registered model named after Fashion-MNIST by a profile are renamed after a user's
 * own data (`pets-quick`, model `pets`), so that trials and champions of two datasets never mix.
 * Names somebody chose (file, environment, flag) are kept.
 */
function nameAfterData(config: PipelineConfig, origins: Map<string, Origin>): PipelineConfig {
  const name = dataName(config.data?.source);
  if (name === 'fashion-mnist') return config;
  const chosen = (key: string): boolean => {
    const kind = originOf(key, origins)?.kind;
    return kind === 'file' || kind === 'env' || kind === 'flag';
  };
  const study = chosen('study.name') ? config.study : { ...config.study, name: config.study.name.replace(/^fashion-mnist/, name) };
  const registry = chosen('registry.model_name') ? config.registry : { ...config.registry, model_name: config.registry.model_name.replace(/^fashion-mnist/, name) };
  return { ...config, study, registry };
}

interface SelectedProfile {
  name: string;
  /** Who chose it: --profile, KILN_PROFILE, the file's `profile:` key, or nobody (the default). */
  origin: Origin;
  builtin?: PipelineConfig;
  custom?: Json;
}

function selectProfile(flag: string | undefined, env: Readonly<Record<string, string | undefined>>, file: Json, path: string): SelectedProfile {
  const fromFile = typeof file.profile === 'string' ? file.profile : undefined;
  const [name, origin]: [string, Origin] = flag
    ? [flag, { kind: 'flag', name: '--profile' }]
    : env.KILN_PROFILE
      ? [env.KILN_PROFILE, { kind: 'env', name: 'KILN_PROFILE' }]
      : fromFile
        ? [fromFile, { kind: 'file', name: path }]
        : ['quick', { kind: 'default', name: 'built-in' }];
  const customProfiles = isObject(file.profiles) ? file.profiles : {};
  const builtin = (PROFILES as Record<string, PipelineConfig | undefined>)[name];
  const custom = customProfiles[name];
  if (builtin === undefined && !isObject(custom)) {
    const own = Object.keys(customProfiles).length ? `; in ${path}: ${Object.keys(customProfiles).join(', ')}` : '';
    throw new ConfigError('profile', `unknown profile "${name}" (built in: ${Object.keys(PROFILES).join(', ')}${own})${whereSet('profile', new Map([['profile', origin]]))}`);
  }
  return { name, origin, ...(builtin ? { builtin } : { custom: custom as Json }) };
}

/**
 * The layers below the environment, lowest first. The registry rule is a default of every
 * profile (the built-in ones share it), so a file's `registry:` applies whichever profile runs.
 */
function profileLayers(selected: SelectedProfile, file: Json, path: string): [Json, Origin][] {
  const { profiles: _profiles, profile: _profile, ...topLevel } = file;
  const defaults: Origin = { kind: 'default', name: 'built-in' };
  const fileOrigin: Origin = { kind: 'file', name: path };
  const profileOrigin: Origin = { kind: 'profile', name: selected.name };
  const layers: [Json, Origin][] = [[{ registry: REGISTRY, device: 'auto' }, defaults]];
  if (selected.builtin) {
    const { profile: _name, registry: _registry, ...values } = selected.builtin;
    const namedAtRunTime = selected.origin.kind === 'flag' || selected.origin.kind === 'env';
    if (namedAtRunTime) layers.push([topLevel, fileOrigin], [values, profileOrigin]);
    else layers.push([values, profileOrigin], [topLevel, fileOrigin]); // the file customises the profile it chose
  } else {
    const { profile: _name, registry: _registry, ...base } = PROFILES.quick;
    layers.push([base, defaults], [topLevel, fileOrigin], [selected.custom ?? {}, profileOrigin]);
  }
  return layers;
}

/** KILN_WORKERS, KILN_N_TRIALS, KILN_TIMEOUT_S, KILN_EPOCHS, one layer each. */
function environmentLayers(env: Readonly<Record<string, string | undefined>>): [Json, Origin][] {
  const layers: [Json, Origin][] = [];
  for (const { key, env: variable, kind } of CONFIG_FLAGS) {
    const text = variable && key !== 'profile' ? env[variable] : undefined;
    if (text === undefined || text === '') continue;
    const value = kind === 'string' ? text : Number(text);
    if (typeof value === 'number' && !Number.isFinite(value)) throw new ConfigError(key, `${variable}=${text} is not a number`);
    layers.push([nest(key, value), { kind: 'env', name: variable! }]);
  }
  return layers;
}

function nest(key: string, value: unknown): Json {
  return key.split('.').reduceRight<unknown>((inner, part) => ({ [part]: inner }), value) as Json;
}

/** Reads and checks kiln.yml against its schema (so a typo in a profile nobody selected is found too). */
async function readConfigFile(path: string): Promise<Json> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new KilnError('KILN_ERR_CONFIG', `cannot read config file ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new KilnError('KILN_ERR_CONFIG', `${path} is not valid YAML: ${(error as Error).message}`);
  }
  if (parsed !== null && !isObject(parsed)) throw new ConfigError('(root)', `${path} must hold a mapping`);
  const file = (parsed ?? {}) as Json;
  const problem = firstProblem(KilnFileSchema, file);
  if (problem) throw new ConfigError(problem.key, `${problem.message}${whereSet(problem.key, new Map([[problem.key, { kind: 'file', name: path }]]))}`);
  return file;
}

/**
 * Merges `layer` into `target` (mappings merge, everything else replaces), recording each value's
 * origin. A search space of another model replaces the whole space rather than mixing two. A
 * profile replacing a different top-level value of the file is a conflict.
 */
function apply(target: Json, layer: Json, originFor: (key: string) => Origin, prefix: string, origins: Map<string, Origin>, conflicts: [string, string][]): void {
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    const path = prefix ? `${prefix}.${key}` : key;
    const origin = originFor(path);
    const before = target[key];
    const modelChange = isObject(value) && isObject(before) && value.model !== undefined && before.model !== undefined && value.model !== before.model;
    if (modelChange) noteConflict(path, before, value, origins, origin, conflicts);
    if (isObject(value) && (!isObject(before) || modelChange)) {
      forget(origins, path);
      target[key] = {};
    }
    if (isObject(value)) {
      apply(target[key] as Json, value, originFor, path, origins, conflicts);
      continue;
    }
    if (isObject(before)) forget(origins, path);
    else if (before !== undefined && !isDeepStrictEqual(before, value)) noteConflict(path, before, value, origins, origin, conflicts);
    target[key] = value;
    origins.delete(path); // re-inserted: the map's order is the order values were applied in
    origins.set(path, origin);
  }
}

function noteConflict(path: string, before: unknown, value: unknown, origins: Map<string, Origin>, origin: Origin, conflicts: [string, string][]): void {
  const previous = originOf(path, origins);
  if (origin.kind !== 'profile' || previous?.kind !== 'file') return;
  const show = (v: unknown): string => (isObject(v) && typeof v.model === 'string' ? `model ${v.model}` : JSON.stringify(v));
  conflicts.push([path, `${path} (${show(before)} → ${show(value)})`]);
}

function forget(origins: Map<string, Origin>, path: string): void {
  for (const key of [...origins.keys()]) if (key === path || key.startsWith(`${path}.`)) origins.delete(key);
}

/**
 * Every value of a configuration as [dotted key, value, origins], in the configuration's order. A
 * range is one value; its origins are those of its parts, in the order they were applied.
 */
export function effectiveValues(resolved: ResolvedConfig): [string, unknown, Origin[]][] {
  const rows: [string, unknown, Origin[]][] = [];
  const walk = (value: unknown, key: string): void => {
    if (isObject(value) && !isRange(value)) {
      for (const [child, inner] of Object.entries(value)) walk(inner, key ? `${key}.${child}` : child);
      return;
    }
    const applied = [...resolved.origins].filter(([path]) => path === key || path.startsWith(`${key}.`) || key.startsWith(`${path}.`)).map(([, origin]) => origin);
    const distinct = [...new Map(applied.map((origin) => [describeOrigin(origin), origin])).values()];
    rows.push([key, value, distinct.length > 0 ? distinct : [{ kind: 'default', name: 'built-in' }]]);
  };
  const { profile, device, data, study, search_space, training, registry } = resolved.config;
  walk({ profile, device, ...(data === undefined ? {} : { data }), study, search_space, training, registry }, '');
  return rows;
}

function isRange(value: Json): boolean {
  return 'low' in value || 'choices' in value;
}
