/**
 * tune/test-fixtures — hand-built trials and study views for sampler and pruner tests.
 */
import { SnapshotView } from './study-view.js';
import type { Distribution, FrozenTrial, StudyDirection, TrialState } from './types.js';

let nextId = 1000;

/** A FrozenTrial with the given intermediate values ({ step: value }) and fields. */
export function makeTrial(fields: {
  number: number;
  state?: TrialState;
  value?: number | null;
  values?: Record<number, number>;
  params?: Record<string, number>;
  distributions?: Record<string, Distribution>;
  systemAttrs?: Record<string, unknown>;
}): FrozenTrial {
  return {
    trialId: nextId++,
    number: fields.number,
    state: fields.state ?? 'RUNNING',
    value: fields.value ?? null,
    params: { ...(fields.params ?? {}) },
    internalParams: { ...(fields.params ?? {}) },
    distributions: { ...(fields.distributions ?? {}) },
    intermediateValues: new Map(Object.entries(fields.values ?? {}).map(([step, v]) => [Number(step), v])),
    userAttrs: {},
    systemAttrs: { ...(fields.systemAttrs ?? {}) },
    datetimeStart: 0,
    datetimeComplete: null,
  };
}

/** COMPLETE trials whose value at every step in `steps` is values[i]. */
export function completedAt(steps: number[], values: number[], firstNumber = 0): FrozenTrial[] {
  return values.map((v, i) =>
    makeTrial({ number: firstNumber + i, state: 'COMPLETE', value: v, values: Object.fromEntries(steps.map((s) => [s, v])) }),
  );
}

/**
 * A view over `trials` (include the judged trial, as a study would); system-attribute writes
 * update the view's snapshot only.
 */
export function viewOf(trials: FrozenTrial[], direction: StudyDirection = 'minimize', name = 'fixture'): SnapshotView {
  return new SnapshotView({ studyId: 0, name, direction }, trials, { writeSystemAttr: () => undefined });
}
