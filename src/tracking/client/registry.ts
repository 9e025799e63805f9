/**
 * tracking/client/registry — Kiln's registry rules on top of any TrackingStore.
 *
 * Registering makes a new version of a registered model (default `fashion-mnist`) from a run's
 * model folder. The alias `champion` names the version to serve; `promoteIfBetter` moves it only
 * when the candidate's metric beats the current champion's (or when forced), and the store
 * records every move with who, when, from, to and why.
 */
import { TrackingError } from '../store/errors.js';
import type { ModelVersion, TrackingStore } from '../store/types.js';

export const DEFAULT_MODEL_NAME = 'fashion-mnist';
export const CHAMPION = 'champion';
export const MODEL_ARTIFACT_PATH = 'model';

/** Registers the model folder logged under `artifactPath` by `runId` as a new version. */
export async function registerModelVersion(
  store: TrackingStore,
  options: { runId: string; name?: string; artifactPath?: string; description?: string; userId?: string },
): Promise<ModelVersion> {
  const name = options.name ?? DEFAULT_MODEL_NAME;
  const run = await store.getRun(options.runId);
  try {
    await store.getRegisteredModel(name);
  } catch (error) {
    if (!(error instanceof TrackingError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST')) throw error;
    try {
      await store.createRegisteredModel({ name, description: 'Registered by Kiln' }, { user_id: options.userId });
    } catch (raced) {
      // Another worker created it between our get and create: that is fine.
      if (!(raced instanceof TrackingError && raced.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw raced;
    }
  }
  return store.createModelVersion(
    {
      name,
      source: `${run.info.artifact_uri}/${options.artifactPath ?? MODEL_ARTIFACT_PATH}`,
      run_id: options.runId,
      ...(options.description !== undefined ? { description: options.description } : {}),
    },
    { user_id: options.userId },
  );
}

export interface PromotionOptions {
  name?: string;
  version: string;
  alias?: string;
  /** Metric of the version's run that decides. Default test_acc. */
  metric?: string;
  /** 'max' (default): higher is better. */
  mode?: 'max' | 'min';
  /** Move the alias whatever the metrics say. */
  force?: boolean;
  /** Recorded in the alias history instead of the generated explanation. */
  reason?: string;
  userId?: string;
}

export interface PromotionResult {
  moved: boolean;
  alias: string;
  candidate: { version: string; value: number | null };
  previous: { version: string; value: number | null } | null;
  reason: string;
}

async function metricOf(store: TrackingStore, version: ModelVersion, metric: string): Promise<number | null> {
  if (!version.run_id) return null;
  const run = await store.getRun(version.run_id);
  return run.data.metrics.find((m) => m.key === metric)?.value ?? null;
}

/**
 * Points `alias` (default champion) at `version` if its run's metric beats the current
 * holder's, or if forced; otherwise leaves it. Either way it says why.
 */
export async function promoteIfBetter(store: TrackingStore, options: PromotionOptions): Promise<PromotionResult> {
  const name = options.name ?? DEFAULT_MODEL_NAME;
  const alias = options.alias ?? CHAMPION;
  const metric = options.metric ?? 'test_acc';
  const mode = options.mode ?? 'max';
  const candidateVersion = await store.getModelVersion(name, options.version);
  const candidateValue = await metricOf(store, candidateVersion, metric);
  let current: ModelVersion | null = null;
  try {
    current = await store.getModelVersionByAlias(name, alias);
  } catch (error) {
    if (!(error instanceof TrackingError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST')) throw error;
  }
  const currentValue = current ? await metricOf(store, current, metric) : null;
  const previous = current ? { version: current.version, value: currentValue } : null;
  const candidate = { version: options.version, value: candidateValue };
  let reason: string;
  let move: boolean;
  if (current?.version === options.version) {
    return { moved: false, alias, candidate, previous, reason: `version ${options.version} already holds @${alias}` };
  } else if (options.force) {
    move = true;
    reason = `forced: version ${options.version} (${metric}=${String(candidateValue)}) replaces ${current ? `version ${current.version} (${metric}=${String(currentValue)})` : 'nothing'}`;
  } else if (current === null) {
    move = true;
    reason = `first @${alias}: version ${options.version} (${metric}=${String(candidateValue)})`;
  } else if (candidateValue === null) {
    move = false;
    reason = `version ${options.version} has no ${metric} to compare; @${alias} stays on version ${current.version}`;
  } else if (currentValue === null || (mode === 'max' ? candidateValue > currentValue : candidateValue < currentValue)) {
    move = true;
    reason = `version ${options.version} ${metric}=${candidateValue} beats version ${current.version} ${metric}=${String(currentValue)}`;
  } else {
    move = false;
    reason = `version ${options.version} ${metric}=${candidateValue} does not beat version ${current.version} ${metric}=${currentValue}; @${alias} stays`;
  }
  if (options.reason) reason = options.reason;
  if (move) await store.setRegisteredModelAlias(name, alias, options.version, { user_id: options.userId, reason });
  return { moved: move, alias, candidate, previous, reason };
}
