/**
 * tracking/store/model-history — MLflow 2's record of `log_model` calls: the run tag
 * `mlflow.log-model.history` holds a JSON list with one summary per logged model. MLflow 2.x
 * clients append to it (runs/log-model) on every log_model, and its UI reads it to list a run's
 * models. The summary keeps what MLflow's `Model.get_tags_dict()` keeps, so a list Kiln writes
 * reads the same as one MLflow writes.
 */
import { invalid } from './errors.js';

/** The run tag MLflow 2 keeps the history of runs/log-model calls in (a JSON list). */
export const LOGGED_MODELS_TAG = 'mlflow.log-model.history';

/** What runs/log-model refuses a model JSON without (MLflow's handler). */
const MANDATORY = ['artifact_path', 'flavors', 'utc_time_created', 'run_id'] as const;
/** The top-level fields the history keeps, besides `flavors`. */
const KEPT = ['run_id', 'utc_time_created', 'artifact_path', 'model_uuid'] as const;

/**
 * The summary MLflow appends for one MLmodel: the kept fields and each flavor's settings without
 * its `config` (which can be large). INVALID_PARAMETER_VALUE when a mandatory field is missing.
 */
export function loggedModelSummary(model: Record<string, unknown>): Record<string, unknown> {
  if (model === null || typeof model !== 'object' || Array.isArray(model)) {
    throw invalid('Malformed model info: model_json must be a JSON object (an MLmodel as a dict).');
  }
  const missing = MANDATORY.filter((k) => !(k in model));
  if (missing.length > 0) throw invalid(`Model json is missing mandatory fields: ${missing.join(', ')}`);
  const summary: Record<string, unknown> = {};
  for (const key of KEPT) if (key in model) summary[key] = model[key];
  const flavors = model.flavors;
  const kept: Record<string, unknown> = {};
  if (flavors !== null && typeof flavors === 'object' && !Array.isArray(flavors)) {
    for (const [name, settings] of Object.entries(flavors)) {
      kept[name] =
        settings !== null && typeof settings === 'object' && !Array.isArray(settings)
          ? Object.fromEntries(Object.entries(settings).filter(([k]) => k !== 'config'))
          : settings;
    }
  }
  summary.flavors = kept;
  return summary;
}

/** The list a tag holds; a value someone overwrote with anything but a JSON list starts afresh. */
export function parseModelHistory(value: string | undefined): unknown[] {
  if (value === undefined) return [];
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}
