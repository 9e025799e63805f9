/**
 * tune/types — the vocabulary of Kiln's tuner, after Optuna: distributions, trials, and the
 * three small interfaces (Sampler, Pruner, StudyStorage) that everything else is built from.
 *
 * Values: a distribution maps between the user's ("external") value and an "internal" number
 * the samplers work on — floats and ints are themselves, a categorical choice is its index.
 * Storage holds internal values; trials hand external values to the objective.
 */

export type StudyDirection = 'minimize' | 'maximize';
export type TrialState = 'RUNNING' | 'COMPLETE' | 'PRUNED' | 'FAIL' | 'WAITING';
export type CategoricalChoice = string | number | boolean | null;

export interface FloatDistribution {
  type: 'float';
  low: number;
  high: number;
  /** Sample on a log scale (low > 0). */
  log: boolean;
  /** Discretisation step (not with log). */
  step: number | null;
}

export interface IntDistribution {
  type: 'int';
  low: number;
  high: number;
  log: boolean;
  /** Step between values, default 1. */
  step: number;
}

export interface CategoricalDistribution {
  type: 'categorical';
  choices: CategoricalChoice[];
}

export type Distribution = FloatDistribution | IntDistribution | CategoricalDistribution;

/** A trial as stored: everything a sampler or pruner may look at. */
export interface FrozenTrial {
  /** Storage-wide id. */
  trialId: number;
  /** 0-based position in its study (what users see as "trial 7"). */
  number: number;
  state: TrialState;
  /** Objective value, for COMPLETE trials (and PRUNED ones that reported a last value). */
  value: number | null;
  /** External parameter values by name. */
  params: Record<string, CategoricalChoice>;
  /** Internal (numeric) parameter values by name. */
  internalParams: Record<string, number>;
  distributions: Record<string, Distribution>;
  /** Reported intermediate values by step. */
  intermediateValues: Map<number, number>;
  userAttrs: Record<string, unknown>;
  systemAttrs: Record<string, unknown>;
  /** Epoch milliseconds. */
  datetimeStart: number | null;
  datetimeComplete: number | null;
}

export interface StudySummary {
  studyId: number;
  name: string;
  direction: StudyDirection;
  userAttrs: Record<string, unknown>;
  systemAttrs: Record<string, unknown>;
}

/**
 * Where studies live. All methods are async so one interface covers memory and the tracking
 * database (SQLite, PostgreSQL) shared by worker processes. Writes to a finished trial are
 * refused (Optuna's rule), and a state change from RUNNING is atomic: two workers can never
 * both finish, or both start, the same trial.
 */
export interface StudyStorage {
  createStudy(name: string, direction: StudyDirection): Promise<number>;
  /** Undefined when no study has that name. */
  getStudyIdByName(name: string): Promise<number | undefined>;
  getStudy(studyId: number): Promise<StudySummary>;
  listStudies(): Promise<StudySummary[]>;
  deleteStudy(studyId: number): Promise<void>;
  setStudyUserAttr(studyId: number, key: string, value: unknown): Promise<void>;
  setStudySystemAttr(studyId: number, key: string, value: unknown): Promise<void>;

  /** A new RUNNING trial with the next trial number of the study (atomic across workers). */
  createTrial(studyId: number): Promise<FrozenTrial>;
  /** Claims the oldest WAITING trial (enqueued parameters) and makes it RUNNING, or undefined. */
  claimWaitingTrial(studyId: number): Promise<FrozenTrial | undefined>;
  /** Enqueues a WAITING trial with fixed parameters (Optuna's enqueue_trial). */
  enqueueTrial(studyId: number, params: Record<string, CategoricalChoice>, distributions: Record<string, Distribution>): Promise<FrozenTrial>;
  setTrialParam(trialId: number, name: string, internalValue: number, distribution: Distribution): Promise<void>;
  setTrialIntermediateValue(trialId: number, step: number, value: number): Promise<void>;
  /** Moves a RUNNING trial to `state`; returns false (changing nothing) when it was not RUNNING. */
  setTrialStateValue(trialId: number, state: TrialState, value?: number | null): Promise<boolean>;
  setTrialUserAttr(trialId: number, key: string, value: unknown): Promise<void>;
  setTrialSystemAttr(trialId: number, key: string, value: unknown): Promise<void>;
  getTrial(trialId: number): Promise<FrozenTrial>;
  /** Trials of a study in number order, optionally only those in `states`. */
  getAllTrials(studyId: number, states?: readonly TrialState[]): Promise<FrozenTrial[]>;

  /** Records that a RUNNING trial's worker is alive. */
  recordHeartbeat(trialId: number): Promise<void>;
  /** Marks FAIL every RUNNING trial whose last heartbeat is older than `graceMs`; returns their ids. */
  failStaleTrials(studyId: number, graceMs: number): Promise<number[]>;

  close(): Promise<void>;
}

/** What a sampler or pruner may ask of the study it serves. */
export interface StudyView {
  readonly studyId: number;
  readonly name: string;
  readonly direction: StudyDirection;
  /** Trials as of the last refresh (the sampler's snapshot), in number order. */
  trials(states?: readonly TrialState[]): FrozenTrial[];
  /**
   * Sets a system attribute on a trial of this study (added for pruners and samplers that keep
   * state on trials, like Optuna's SuccessiveHalving rungs and GridSampler grid ids). The write
   * is queued to storage and visible in this view's snapshot at once. Optional: views without a
   * writer (e.g. read-only snapshots) leave it undefined.
   */
  setTrialSystemAttr?(trialId: number, key: string, value: unknown): void;
  /** Asks a running `optimize` to start no new trials (Optuna's `study.stop()`). Optional. */
  stop?(): void;
}

/**
 * Proposes parameter values. `sampleRelative` runs once when a trial starts, over the search
 * space inferred from past trials (multivariate samplers use it); `sampleIndependent` runs for
 * each parameter the relative step did not cover. Values are internal.
 */
export interface Sampler {
  /**
   * Called when a trial starts, before the relative search space is inferred (Optuna's
   * `before_trial`; GridSampler picks the trial's grid point here). Optional.
   */
  beforeTrial?(study: StudyView, trial: FrozenTrial): void;
  inferRelativeSearchSpace(study: StudyView, trial: FrozenTrial): Record<string, Distribution>;
  sampleRelative(study: StudyView, trial: FrozenTrial, searchSpace: Record<string, Distribution>): Record<string, number>;
  sampleIndependent(study: StudyView, trial: FrozenTrial, name: string, distribution: Distribution): number;
  /** Called after a trial finishes (any state). */
  afterTrial?(study: StudyView, trial: FrozenTrial, state: TrialState, value: number | null): void;
}

/** Decides, from the trial's intermediate values and the study's other trials, whether to stop it. */
export interface Pruner {
  prune(study: StudyView, trial: FrozenTrial): boolean;
}
