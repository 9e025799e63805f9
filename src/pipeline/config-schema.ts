/**
 * pipeline/config-schema — the one schema of a tuning configuration, written with TypeBox (so it
 * is JSON Schema, as Fastify's route schemas are). It gives the TypeScript types, validates a
 * configuration, explains a failure by the key (and its flag), and, as `kilnFileSchema()`, is
 * published as schemas/kiln.schema.json so editors complete and check `kiln.yml`.
 */
import { type Static, type TLiteral, type TSchema, type TUnion, Type } from '@sinclair/typebox';

export { firstProblem, type SchemaProblem } from '../common/schema-problems.js';

const strict = { additionalProperties: false } as const;

function integer(min: number, max: number, description: string) {
  return Type.Integer({ minimum: min, maximum: max, description });
}

function number(min: number, max: number, description: string) {
  return Type.Number({ minimum: min, maximum: max, description });
}

function oneOf<const T extends readonly string[]>(values: T, description: string): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(
    values.map((value) => Type.Literal(value)),
    { description },
  );
}

/** A searched range; `step` and `log` exclude each other, `low` ≤ `high` (checked after the schema). */
function range<T extends TSchema>(value: T, integerStep: boolean) {
  return Type.Object(
    {
      low: value,
      high: value,
      log: Type.Optional(Type.Boolean({ description: 'sample on a log scale (low must be > 0)' })),
      step: Type.Optional(integerStep ? Type.Integer({ minimum: 1, description: 'grid step (not with log)' }) : Type.Number({ exclusiveMinimum: 0, description: 'grid step (not with log)' })),
    },
    { ...strict, title: '{low, high, log?, step?}' },
  );
}

/** A fixed value or a range to search. */
function searchedInt(min: number, max: number, description: string) {
  const value = integer(min, max, `an integer in [${min}, ${max}]`);
  return Type.Union([value, range(value, true)], { description });
}

function searchedNumber(min: number, max: number, description: string) {
  const value = number(min, max, `a number in [${min}, ${max}]`);
  return Type.Union([value, range(value, false)], { description });
}

/** A fixed value or a list of choices to search. */
function searchedChoice<T extends TSchema>(value: T, description: string) {
  return Type.Union([value, Type.Object({ choices: Type.Array(value, { minItems: 1 }) }, { ...strict, title: '{choices: [...]}' })], { description });
}

export const IntRangeSchema = range(Type.Integer(), true);
export const FloatRangeSchema = range(Type.Number(), false);
export type IntRange = Static<typeof IntRangeSchema>;
export type FloatRange = Static<typeof FloatRangeSchema>;
export interface Choices<T> {
  choices: T[];
}

export const StudySchema = Type.Object(
  {
    name: Type.String({ pattern: '^[\\w.-]{1,100}$', title: "1-100 letters, digits, '.', '_' or '-'", description: 'study to create or resume (flag --study-name)' }),
    sampler: oneOf(['tpe', 'random'], 'tpe (Bayesian, Optuna-style) or random (flag --sampler)'),
    pruner: oneOf(['median', 'percentile', 'successive-halving', 'hyperband', 'none'], 'stops unpromising trials early (flag --pruner)'),
    seed: integer(0, 2 ** 32 - 1, 'seed of the sampler'),
    n_trials: integer(1, 100000, 'trials to run (flag --n-trials, env KILN_N_TRIALS)'),
    timeout_s: number(1, 7 * 24 * 3600, 'no new trial starts after this many seconds (flag --timeout, env KILN_TIMEOUT_S)'),
    timeout_mode: Type.Optional(oneOf(['soft', 'hard'], "soft (default, Optuna's meaning): running trials finish; hard: they stop at the deadline, keeping their best epoch")),
    workers: integer(1, 64, 'trials run in parallel, one process each (flag --workers, env KILN_WORKERS)'),
  },
  strict,
);

const MlpSpaceSchema = Type.Object(
  {
    model: Type.Literal('mlp', { description: 'a multi-layer perceptron' }),
    n_layers: searchedInt(1, 8, 'hidden layers'),
    units: searchedInt(1, 4096, 'units of each hidden layer'),
    dropout: searchedNumber(0, 0.9, 'dropout after each hidden layer'),
  },
  strict,
);

const CnnSpaceSchema = Type.Object(
  {
    model: Type.Literal('cnn', { description: 'a convolutional network' }),
    conv_channels: searchedChoice(Type.String({ pattern: '^\\d+(,\\d+){0,3}$', title: 'a comma-separated channel list like "32,64"' }), 'channels of each conv block'),
    kernel: searchedChoice(Type.Union([Type.Literal(1), Type.Literal(3), Type.Literal(5), Type.Literal(7)], { title: 'an odd kernel size 1-7' }), 'convolution kernel size'),
    batch_norm: searchedChoice(Type.Boolean(), 'batch normalisation after each convolution'),
    dense_units: searchedInt(1, 4096, 'units of the dense layer'),
    dropout: searchedNumber(0, 0.9, 'dropout before the classifier'),
  },
  strict,
);

/** The `model` of a search space says which branch it is (errors are explained against that branch). */
export const SearchSpaceSchema = Type.Union([MlpSpaceSchema, CnnSpaceSchema], { description: 'what the study searches' });

export const TrainingSchema = Type.Object(
  {
    epochs: integer(1, 1000, 'epochs per trial (flag --epochs, env KILN_EPOCHS)'),
    batch_size: integer(1, 8192, 'training batch size'),
    lr: searchedNumber(1e-7, 1, 'learning rate (Adam, cosine schedule)'),
    patience: Type.Union([integer(1, 1000, 'an integer in [1, 1000]'), Type.Null()], { description: 'early-stopping patience in epochs, or null for none' }),
    validation_size: integer(1, 30000, 'images held out of the training set for validation'),
    label_smoothing: Type.Optional(number(0, 0.5, 'cross-entropy label smoothing (default 0)')),
    augment_flip: Type.Optional(number(0, 1, 'probability of a horizontal flip of a training image (default 0)')),
    augment_rotation: Type.Optional(number(0, 180, 'largest random rotation of a training image, degrees (default 0)')),
  },
  strict,
);

export const RegistrySchema = Type.Object(
  {
    model_name: Type.String({ minLength: 1, description: 'registered model the best trial becomes a version of' }),
    alias: Type.String({ minLength: 1, description: 'alias moved to the new version when it beats the current one' }),
    metric: Type.String({ minLength: 1, description: 'metric that decides whether the alias moves (higher is better)' }),
  },
  strict,
);

export const DataSchema = Type.Object(
  {
    source: Type.String({
      minLength: 1,
      description: 'what to learn from: fashion-mnist (default), a folder of class subfolders (optionally under train/ val/ test/), a .csv or .jsonl manifest, or a folder of IDX files (flag --data, env KILN_DATA)',
    }),
    image_size: Type.Optional(
      Type.Union([integer(4, 1024, 'side of a square input'), Type.String({ pattern: '^[0-9]+(x[0-9]+)?$', description: 'N or HxW, e.g. 32 or 32x48' })], {
        description: 'input size every image is resized to (default: the median size, capped at 64) (flag --image-size)',
      }),
    ),
    color: Type.Optional(oneOf(['gray', 'rgb'], 'colour mode (default: gray when every image is gray, else rgb) (flag --color)')),
    val_size: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'validation split when the data has none: a count, or a fraction below 1 of train (default 0.1) (flag --val-size)' })),
    test_size: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'test split when the data has none: a count, or a fraction below 1 (default 0.2) (flag --test-size)' })),
    split_seed: Type.Optional(Type.Integer({ description: 'seed of the stratified splits (default 42), independent of the study seed (flag --split-seed)' })),
    max_memory: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?\\s*([KMGT]i?B|B)?$' })], {
        description: 'largest decoded dataset to hold, bytes or e.g. 2GiB (default 1GiB) (flag --max-memory)',
      }),
    ),
    skip_bad_images: Type.Optional(Type.Boolean({ description: 'skip (and count) images that cannot be decoded instead of stopping (flag --skip-bad-images)' })),
    cache: Type.Optional(
      oneOf(['files', 'folders', 'rebuild'], 'how a later load sees that the images are unchanged: files (default) stats every file; folders stats only the folders (fast; misses an image rewritten in place); rebuild decodes again (flag --data-cache)'),
    ),
  },
  strict,
);

export const PipelineConfigSchema = Type.Object(
  {
    profile: Type.String({ description: 'profile this configuration came from' }),
    device: Type.Optional(
      oneOf(['auto', 'cpu', 'gpu'], 'what trains: auto (default) a hardware GPU when one is present, else the CPU; cpu; gpu (any WebGPU adapter, software ones included) (flag --device, env KILN_DEVICE)'),
    ),
    data: Type.Optional(DataSchema),
    study: StudySchema,
    search_space: SearchSpaceSchema,
    training: TrainingSchema,
    registry: RegistrySchema,
  },
  strict,
);

export type DataConfig = Static<typeof DataSchema>;
export type StudyConfig = Static<typeof StudySchema>;
export type MlpSpace = Static<typeof MlpSpaceSchema>;
export type CnnSpace = Static<typeof CnnSpaceSchema>;
export type TrainingBudget = Static<typeof TrainingSchema>;
export type RegistryConfig = Static<typeof RegistrySchema>;
export type PipelineConfig = Static<typeof PipelineConfigSchema>;

/** A copy of `schema` in which no key is required: a file or profile sets only what it changes. */
function optionalEverywhere(schema: TSchema): TSchema {
  const out: TSchema = { ...schema }; // the spread keeps TypeBox's symbol keys
  delete out.required;
  if (out.properties) out.properties = Object.fromEntries(Object.entries(out.properties as Record<string, TSchema>).map(([key, value]) => [key, optionalEverywhere(value)]));
  if (out.anyOf) out.anyOf = (out.anyOf as TSchema[]).map(optionalEverywhere);
  if (out.items) out.items = optionalEverywhere(out.items as TSchema);
  return out;
}

const LayerSchema = optionalEverywhere(Type.Omit(PipelineConfigSchema, ['profile'], strict));

/** The schema of `kiln.yml`: any key of a configuration, a `profile` to start from, and named `profiles`. */
export function kilnFileSchema(): TSchema {
  return Type.Object(
    {
      profile: Type.Optional(Type.String({ description: 'profile to use when neither --profile nor KILN_PROFILE names one: seed, quick (default), best, or one of profiles' })),
      ...Object.fromEntries(Object.entries(LayerSchema.properties as Record<string, TSchema>).map(([key, value]) => [key, Type.Optional(value)])),
      profiles: Type.Optional(Type.Record(Type.String(), LayerSchema, { description: 'profiles of your own, selected with --profile NAME; each may set any key above' })),
    },
    { ...strict, title: 'Kiln configuration (kiln.yml)', description: 'Top-level keys are the defaults of every profile; a named profile wins over them, flags win over both.' },
  );
}

export const KilnFileSchema = kilnFileSchema();

/** The JSON Schema document published as schemas/kiln.schema.json (scripts/build-config-schema.mjs writes it). */
export function publishedSchema(): Record<string, unknown> {
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...(JSON.parse(JSON.stringify(KilnFileSchema)) as Record<string, unknown>) };
}

/** The published schema's file content. */
export function publishedSchemaText(): string {
  return `${JSON.stringify(publishedSchema(), null, 2)}\n`;
}
