/**
 * train/config-schema — the ranges of a training run's settings as one TypeBox schema, keyed by
 * the `kiln train` flag that sets each (epochs, batch-size, lr, …), so that checking a
 * configuration and explaining a bad value (common/schema-problems) are the schema's job, not a
 * hand-written check per field. The model's own hyperparameters are models/spec's.
 */
import { Type } from '@sinclair/typebox';

const integer = (minimum: number, maximum: number) => Type.Integer({ minimum, maximum });
const number = (minimum: number, maximum: number) => Type.Number({ minimum, maximum });

export const TrainingFlagsSchema = Type.Object(
  {
    epochs: integer(1, 1000),
    'batch-size': integer(1, 8192),
    lr: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
    'lr-schedule': Type.Union([Type.Literal('cosine'), Type.Literal('constant')]),
    'label-smoothing': number(0, 0.5),
    seed: integer(0, 2 ** 32 - 1),
    'validation-size': integer(1, 30000),
    patience: Type.Union([integer(1, 1000), Type.Null()]),
    'train-limit': Type.Union([Type.Integer({ minimum: 1, title: 'an integer of at least 1' }), Type.Null()]),
    'checkpoint-top-k': integer(1, 100),
    'augment-rotation': Type.Optional(number(0, 180)),
    'augment-flip': Type.Optional(number(0, 1)),
  },
  { additionalProperties: false },
);
