/**
 * tune/study-view — SnapshotView, the StudyView samplers and pruners read: a study's trials as
 * of the last refresh, plus an optional writer for trial system attributes and a stop hook.
 */
import type { FrozenTrial, StudyDirection, StudyView, TrialState } from './types.js';

export interface SnapshotViewHooks {
  /** Persists a system attribute (e.g. by queueing a storage write). */
  writeSystemAttr?: (trialId: number, key: string, value: unknown) => void;
  stop?: () => void;
}

export class SnapshotView implements StudyView {
  readonly studyId: number;
  readonly name: string;
  readonly direction: StudyDirection;
  private snapshot: FrozenTrial[];
  private readonly hooks: SnapshotViewHooks;

  constructor(study: { studyId: number; name: string; direction: StudyDirection }, trials: readonly FrozenTrial[], hooks: SnapshotViewHooks = {}) {
    this.studyId = study.studyId;
    this.name = study.name;
    this.direction = study.direction;
    this.snapshot = [...trials];
    this.hooks = hooks;
    if (!hooks.writeSystemAttr) this.setTrialSystemAttr = undefined;
    if (!hooks.stop) this.stop = undefined;
  }

  trials(states?: readonly TrialState[]): FrozenTrial[] {
    return states ? this.snapshot.filter((trial) => states.includes(trial.state)) : [...this.snapshot];
  }

  /** Replaces the snapshot (after re-reading storage). */
  refresh(trials: readonly FrozenTrial[]): void {
    this.snapshot = [...trials];
  }

  /** Replaces one trial of the snapshot (matched by trialId), e.g. after a local write. */
  update(trial: FrozenTrial): void {
    const index = this.snapshot.findIndex((t) => t.trialId === trial.trialId);
    if (index >= 0) this.snapshot[index] = trial;
  }

  setTrialSystemAttr?: (trialId: number, key: string, value: unknown) => void = (trialId, key, value) => {
    this.hooks.writeSystemAttr?.(trialId, key, value);
    const index = this.snapshot.findIndex((t) => t.trialId === trialId);
    if (index >= 0) {
      const trial = this.snapshot[index];
      this.snapshot[index] = { ...trial, systemAttrs: { ...trial.systemAttrs, [key]: value } };
    }
  };

  stop?: () => void = () => {
    this.hooks.stop?.();
  };
}
