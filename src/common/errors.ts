/**
 * common/errors — Kiln's coded errors.
 *
 * Every error a user can cause carries a stable `code` (KILN_ERR_*) that scripts may match on,
 * in the spirit of Fastify's FST_ERR_* codes; the message says what was wrong and how to fix it.
 */
export class KilnError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KilnError';
    this.code = code;
  }
}

/** A hyperparameter or option outside its allowed range; `field` names it as the user wrote it. */
export class InvalidHyperparameterError extends KilnError {
  readonly field: string;

  constructor(field: string, message: string) {
    super('KILN_ERR_INVALID_HYPERPARAMETER', `invalid ${field}: ${message}`);
    this.name = 'InvalidHyperparameterError';
    this.field = field;
  }
}
